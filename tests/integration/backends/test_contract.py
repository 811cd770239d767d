"""THE backend contract: every test runs against the fake, the local backend and real Slurm."""

from __future__ import annotations

import re
import signal

from contract_harness import ACCELERATOR, Harness
from contract_job import Scenario

from pnyx.backends.base import BackendState

FINAL_OK = BackendState.SUCCEEDED


def pids_in(log: str) -> list[int]:
    """The pid=N lines the contract job prints."""
    return [int(p) for p in re.findall(r"^pid=(\d+)$", log, flags=re.MULTILINE)]


def test_a_job_succeeds_with_exit_code_0_and_its_output_in_the_log(harness: Harness) -> None:
    spec = harness.spec(Scenario(output="hello from the contract job"))
    backend_id = harness.submit(spec)
    done = harness.wait_final(spec.job_id)
    assert done.state is BackendState.SUCCEEDED, done
    assert done.exit_code == 0
    assert done.backend_job_id == backend_id
    assert done.start_time is not None and done.end_time is not None
    assert done.end_time >= done.start_time
    assert "hello from the contract job" in harness.backend.logs(spec.job_id)


def test_a_non_zero_exit_fails_with_its_exit_code(harness: Harness) -> None:
    spec = harness.spec(Scenario(output="about to fail", exit_code=3))
    harness.submit(spec)
    done = harness.wait_final(spec.job_id)
    assert done.state is BackendState.FAILED, done
    assert done.exit_code == 3


def test_cancel_stops_a_running_job_and_all_its_processes(harness: Harness) -> None:
    spec = harness.spec(Scenario(output="long", duration_s=None, children=1))
    harness.submit(spec)
    harness.wait(spec.job_id, lambda s: s.state is BackendState.RUNNING, "ran")
    log = harness.wait_log(spec.job_id, "pid=")
    harness.wait(spec.job_id, lambda s: len(pids_in(harness.backend.logs(s.job_id))) == 2, "forked")
    pids = pids_in(harness.backend.logs(spec.job_id))
    assert all(harness.pid_alive(p) for p in pids), log
    harness.backend.cancel(spec.job_id)
    done = harness.wait_final(spec.job_id)
    assert done.state is BackendState.CANCELLED, done
    harness.wait(spec.job_id, lambda s: not any(harness.pid_alive(p) for p in pids), "was killed")


def test_a_signal_reaches_the_running_job(harness: Harness) -> None:
    scenario = Scenario(output="trapping", duration_s=None, traps={"USR1": "got USR1"})
    spec = harness.spec(scenario)
    harness.submit(spec)
    harness.wait(spec.job_id, lambda s: s.state is BackendState.RUNNING, "ran")
    harness.wait_log(spec.job_id, "pid=")  # printed after the trap was installed
    harness.backend.signal(spec.job_id, signal.SIGUSR1)
    harness.wait_log(spec.job_id, "got USR1")
    assert harness.backend.status([spec.job_id])[spec.job_id].state is BackendState.RUNNING
    harness.backend.cancel(spec.job_id)
    assert harness.wait_final(spec.job_id).state is BackendState.CANCELLED


def test_submitting_the_same_job_twice_starts_it_once(harness: Harness) -> None:
    spec = harness.spec(Scenario(output="only once"))
    first = harness.submit(spec)
    second = harness.submit(spec)
    assert second == first
    assert harness.backend.find(spec.job_id) == first
    assert harness.wait_final(spec.job_id).state is FINAL_OK
    assert harness.backend.logs(spec.job_id).count("only once") == 1
    assert harness.submit(spec) == first  # still the same job once it has finished


def test_status_of_twenty_jobs_comes_from_one_call(harness: Harness) -> None:
    specs = [harness.spec(Scenario(output=f"job {i}", duration_s=0.2)) for i in range(20)]
    ids = {spec.job_id: harness.submit(spec) for spec in specs}
    first = harness.backend.status(list(ids))
    assert set(first) == set(ids)
    for job_id, status in first.items():
        assert status.state is not BackendState.LOST, status
        assert status.backend_job_id == ids[job_id]
    remaining = set(ids)
    for _ in range(int(harness.deadline_s / 0.2) + 50):
        states = harness.backend.status(sorted(remaining))
        remaining -= {j for j, s in states.items() if s.state.final}
        if not remaining:
            break
        harness.settle()
    assert not remaining, f"never finished: {sorted(remaining)}"
    final = harness.backend.status(list(ids))
    assert {s.state for s in final.values()} == {BackendState.SUCCEEDED}


def test_a_job_the_engine_never_saw_is_lost(harness: Harness) -> None:
    status = harness.backend.status(["contract-never-submitted"])
    assert status["contract-never-submitted"].state is BackendState.LOST
    assert harness.backend.find("contract-never-submitted") is None


def test_accounting_has_one_record_per_finished_run(harness: Harness) -> None:
    spec = harness.spec(Scenario(output="accounted", duration_s=1.0), accelerators_per_node=2)
    backend_id = harness.submit(spec)
    assert harness.wait_final(spec.job_id).state is FINAL_OK
    deadline_polls = int(harness.deadline_s / 0.2)
    records = harness.backend.accounting([spec.job_id])
    for _ in range(deadline_polls):  # an engine may record usage a moment after the end
        if records:
            break
        harness.settle()
        records = harness.backend.accounting([spec.job_id])
    assert len(records) == 1, records
    record = records[0]
    assert record.job_id == spec.job_id
    assert record.backend_job_id == backend_id
    assert record.accelerator_type == ACCELERATOR
    assert record.accelerators == 2
    assert record.accel_seconds > 0
    assert record.end_time >= record.start_time


def test_the_job_sees_its_environment_and_its_accelerator_slots(harness: Harness) -> None:
    scenario = Scenario(output="env", print_env=("CUDA_VISIBLE_DEVICES", "CONTRACT_VAR"))
    spec = harness.spec(scenario, accelerators_per_node=3, env={"CONTRACT_VAR": "forty two"})
    harness.submit(spec)
    assert harness.wait_final(spec.job_id).state is FINAL_OK
    log = harness.backend.logs(spec.job_id)
    assert "CONTRACT_VAR=forty two" in log
    devices = re.search(r"^CUDA_VISIBLE_DEVICES=(.*)$", log, flags=re.MULTILINE)
    assert devices is not None, log
    assert len([d for d in devices.group(1).split(",") if d.strip()]) == 3, devices.group(1)


def test_a_job_past_its_time_limit_times_out(harness: Harness) -> None:
    spec = harness.spec(
        Scenario(output="forever", duration_s=None), time_limit_s=harness.time_limit_s
    )
    harness.submit(spec)
    done = harness.wait_final(spec.job_id)
    assert done.state is BackendState.TIMEOUT, done


def test_the_checkpoint_signal_comes_before_the_time_limit(harness: Harness) -> None:
    scenario = Scenario(output="ckpt", duration_s=None, traps={"USR1": "checkpoint now"})
    limit = harness.time_limit_s
    spec = harness.spec(
        scenario, time_limit_s=limit, checkpoint_signal="USR1", grace_s=max(1, limit // 2)
    )
    harness.submit(spec)
    done = harness.wait_final(spec.job_id)
    assert done.state is BackendState.TIMEOUT, done
    assert "checkpoint now" in harness.backend.logs(spec.job_id)


def test_nodes_are_listed_with_their_accelerator_type(harness: Harness) -> None:
    nodes = harness.backend.nodes()
    assert nodes
    ours = [n for n in nodes if n.accelerator_type == ACCELERATOR]
    assert ours, nodes
    assert all(n.accelerators >= 1 for n in ours)
    assert {n.state for n in nodes} <= {"idle", "allocated", "mixed", "down", "drained"}
