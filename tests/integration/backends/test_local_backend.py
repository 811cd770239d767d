"""What only the local backend promises: restarts, external kills, its slot queue, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pnyx.backends.base import BackendError, BackendState, JobSpec, JobStatus
from pnyx.backends.local import LocalBackend

DEADLINE_S = 60.0


def make(state_dir: Path, slots: int = 4, **kw: float) -> LocalBackend:
    return LocalBackend(state_dir=state_dir, accelerators={"h100": slots}, **kw)


def sh(job_id: str, script: str, **kw: object) -> JobSpec:
    return JobSpec(job_id, ("sh", "-c", script), "h100", **kw)  # type: ignore[arg-type]


def wait(backend: LocalBackend, job_id: str, until: Callable[[JobStatus], bool]) -> JobStatus:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = backend.status([job_id])[job_id]
        if until(status):
            return status
        assert time.monotonic() < deadline, f"{job_id} stuck at {status}: {backend.logs(job_id)}"
        time.sleep(0.1)


def running(s: JobStatus) -> bool:
    return s.state is BackendState.RUNNING


def final(s: JobStatus) -> bool:
    return s.state.final


def wait_for_file(path: Path) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return path.read_text()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


SUBMITTER = """
import sys, time
from pathlib import Path
from pnyx.backends.base import JobSpec
from pnyx.backends.local import LocalBackend
b = LocalBackend(state_dir=Path(sys.argv[1]), accelerators={"h100": 4})
script = "until [ -e go ]; do sleep 0.05; done; echo finished; exit 5"
b.submit(JobSpec("survivor", ("sh", "-c", script), "h100", workdir=sys.argv[1]))
print("submitted", flush=True)
time.sleep(600)
"""


def test_a_new_backend_re_attaches_after_pnyx_was_killed(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "submitted"
    proc.send_signal(signal.SIGKILL)  # pnyx dies without any cleanup
    proc.wait()
    backend = make(tmp_path)
    assert backend.find("survivor") is not None
    assert backend.status(["survivor"])["survivor"].state is BackendState.RUNNING
    (tmp_path / "go").touch()
    done = wait(backend, "survivor", final)
    assert done.state is BackendState.FAILED
    assert done.exit_code == 5
    assert "finished" in backend.logs("survivor")
    assert len(backend.accounting(["survivor"])) == 1


def test_a_dropped_backend_object_is_replaced_without_losing_the_job(tmp_path: Path) -> None:
    spec = sh("j", "until [ -e go ]; do sleep 0.05; done; echo done", workdir=str(tmp_path))
    first = make(tmp_path)
    first.submit(spec)
    wait(first, "j", running)
    del first
    second = make(tmp_path)
    assert second.status(["j"])["j"].state is BackendState.RUNNING
    assert second.submit(spec) == second.find("j")  # not started again
    (tmp_path / "go").touch()
    assert wait(second, "j", final).state is BackendState.SUCCEEDED
    assert second.logs("j").count("done") == 1


def test_a_job_whose_supervisor_is_killed_is_lost_with_a_reason(tmp_path: Path) -> None:
    backend = make(tmp_path)
    backend.submit(sh("victim", "echo $$ > pid; sleep 600", workdir=str(tmp_path)))
    wait(backend, "victim", running)
    job_pid = int(wait_for_file(tmp_path / "pid"))
    supervisor = backend._store.get("victim")
    assert supervisor is not None and supervisor.pid is not None
    os.kill(supervisor.pid, signal.SIGKILL)
    done = wait(backend, "victim", final)
    assert done.state is BackendState.LOST
    assert "without recording an exit code" in done.reason
    deadline = time.monotonic() + DEADLINE_S
    while alive(job_pid):  # the orphaned job is not left running
        assert time.monotonic() < deadline, "orphaned job still alive"
        time.sleep(0.05)


def test_a_job_killed_from_outside_fails_with_the_signal(tmp_path: Path) -> None:
    backend = make(tmp_path)
    backend.submit(sh("shot", "echo $$ > pid; exec sleep 600", workdir=str(tmp_path)))
    os.kill(int(wait_for_file(tmp_path / "pid")), signal.SIGKILL)
    done = wait(backend, "shot", final)
    assert done.state is BackendState.FAILED
    assert done.exit_code == 128 + signal.SIGKILL
    assert "SIGKILL" in done.reason


def test_a_job_waits_for_slots_then_runs(tmp_path: Path) -> None:
    backend = make(tmp_path, slots=2)
    gate = "until [ -e go ]; do sleep 0.05; done"
    backend.submit(sh("big", gate, accelerators_per_node=2, workdir=str(tmp_path)))
    backend.submit(sh("small", "echo CUDA=$CUDA_VISIBLE_DEVICES"))
    pending = backend.status(["small"])["small"]
    assert pending.state is BackendState.PENDING
    assert "waiting for 1 free h100" in pending.reason
    assert backend.nodes()[0].state == "allocated"
    (tmp_path / "go").touch()
    big = wait(backend, "big", final)
    small = wait(backend, "small", final)
    assert small.state is BackendState.SUCCEEDED
    assert big.end_time is not None and small.start_time is not None
    assert small.start_time >= big.end_time
    assert "CUDA=0" in backend.logs("small")
    assert backend.nodes()[0].state == "idle"


def test_a_gang_gets_nodes_times_accelerators_slots(tmp_path: Path) -> None:
    backend = make(tmp_path, slots=4)
    backend.submit(sh("gang", "echo CUDA=$CUDA_VISIBLE_DEVICES", nodes=2, accelerators_per_node=2))
    assert wait(backend, "gang", final).state is BackendState.SUCCEEDED
    assert "CUDA=0,1,2,3" in backend.logs("gang")
    [record] = backend.accounting(["gang"])
    assert record.accelerators == 4


def test_cancelling_a_pending_job_leaves_no_usage(tmp_path: Path) -> None:
    backend = make(tmp_path, slots=1)
    backend.submit(sh("first", "sleep 600"))
    backend.submit(sh("second", "echo never"))
    backend.cancel("second")
    status = backend.status(["second"])["second"]
    assert status.state is BackendState.CANCELLED
    assert backend.accounting(["second"]) == []
    backend.cancel("first")
    assert wait(backend, "first", final).state is BackendState.CANCELLED
    assert "never" not in backend.logs("second")


def test_a_job_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    backend = make(tmp_path, kill_grace_s=1)
    backend.submit(sh("stubborn", "trap '' TERM; echo ready; sleep 600", time_limit_s=1))
    done = wait(backend, "stubborn", final)
    assert done.state is BackendState.TIMEOUT
    assert done.exit_code == 128 + signal.SIGKILL


def test_the_job_environment_is_minimal_and_names_the_job(tmp_path: Path) -> None:
    os.environ["PNYX_LEAK_CHECK"] = "leaked"
    try:
        backend = make(tmp_path)
        backend.submit(sh("env", "env", env={"MINE": "1"}))
        assert wait(backend, "env", final).state is BackendState.SUCCEEDED
    finally:
        del os.environ["PNYX_LEAK_CHECK"]
    log = backend.logs("env")
    assert "PNYX_JOB_ID=env" in log
    assert "MINE=1" in log
    assert "PNYX_LEAK_CHECK" not in log


def test_a_missing_program_fails_with_a_reason(tmp_path: Path) -> None:
    backend = make(tmp_path)
    backend.submit(JobSpec("nope", ("/no/such/program",), "h100"))
    done = wait(backend, "nope", final)
    assert done.state is BackendState.FAILED
    assert done.exit_code == 127
    assert "could not start" in done.reason


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (JobSpec("t", ("true",), "b200"), "has only h100"),
        (JobSpec("t", ("true",), "h100", nodes=2, accelerators_per_node=4), "has 4"),
        (JobSpec("t", (), "h100"), "empty command"),
        (JobSpec("t", ("true",), "h100", checkpoint_signal="NOPE"), "unknown checkpoint"),
    ],
)
def test_impossible_jobs_are_refused_and_not_recorded(
    tmp_path: Path, spec: JobSpec, message: str
) -> None:
    backend = make(tmp_path, slots=4)
    with pytest.raises(BackendError, match=message):
        backend.submit(spec)
    assert backend.find("t") is None


def test_a_job_pnyx_stopped_while_starting_is_lost_not_forgotten(tmp_path: Path) -> None:
    backend = make(tmp_path, launch_timeout_s=0)
    backend._store.add(sh("half", "echo never"), time.time())
    [claimed] = backend._store.claim_slots({"h100": 4}, time.time() - 1)  # then pnyx "dies"
    assert claimed.phase == "launching"
    status = backend.status(["half"])["half"]
    assert status.state is BackendState.LOST
    assert "supervisor never ran" in status.reason
    assert backend.nodes()[0].state == "idle"  # its slots are free again
