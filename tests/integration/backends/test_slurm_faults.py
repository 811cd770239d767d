"""Faults of the real Slurm cluster (deploy/slurm/dev-cluster.sh), with real processes.

- slurmctld killed while jobs run: the backend raises BackendUnavailableError (never a wrong
  answer), and after a restart every job is still there, once, under the same Slurm id; a
  resubmission of the same pnyx job finds it.
- one slurmd killed while its job runs: Slurm 22.05 marks the node down ("Not responding") after
  SlurmdTimeout (10 s here), requeues the job when it allows requeue -- the same Slurm job id,
  PENDING with a restart count and reason BeginTime: 22.05 makes a requeued batch job eligible
  only 121 s later -- and sacct keeps the first run as a NODE_FAIL row, so accounting has one
  record per run; a job that forbids requeue ends NODE_FAIL.
Each test restores the cluster (``dev-cluster.sh start`` restarts only what was killed).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from slurm_support import cluster_env, make_slurm_backend, start_cluster

from pnyx.backends.base import (
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
    JobStatus,
)
from pnyx.backends.slurm import SlurmBackend

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

DEADLINE_S = 120.0


def pid_file(name: str) -> Path:
    """A daemon's pid file in the cluster's state directory."""
    return Path(cluster_env()["PNYX_SLURM_DIR"]) / "alpha" / "run" / f"{name}.pid"


def kill_daemon(name: str) -> None:
    """SIGKILL one daemon of cluster alpha (slurmctld, slurmd-node3...) and wait for its end."""
    pid = int(pid_file(name).read_text().strip())
    os.kill(pid, signal.SIGKILL)
    until(lambda: not Path(f"/proc/{pid}").exists(), f"{name} ({pid}) to die")


def until(check: Callable[[], object], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Poll ``check`` every 0.5 s (BackendUnavailableError counts as not yet) until truthy."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with suppress(BackendUnavailableError):
            if check():
                return
        time.sleep(0.5)
    pytest.fail(f"waited {deadline_s} s for {what}")


def long_job(partition: str | None = None, *, requeue: bool = True, gpus: int = 1) -> JobSpec:
    """A job that runs until cancelled."""
    return JobSpec(
        f"fault-{uuid.uuid4().hex[:10]}",
        ("sleep", "3600"),
        "h100",
        accelerators_per_node=gpus,
        partition=partition,
        requeue=requeue,
    )


class RememberingSlurm(SlurmBackend):
    """SlurmBackend that remembers what it submitted (to cancel it after the test)."""

    submitted: list[str]

    def submit(self, spec: JobSpec) -> str:
        self.submitted.append(spec.job_id)
        return super().submit(spec)


@pytest.fixture
def slurm(tmp_path: Path) -> Iterator[SlurmBackend]:
    """Cluster alpha, restored (daemons restarted, test jobs cancelled) after the test."""
    base = make_slurm_backend(tmp_path)
    backend = RememberingSlurm(base.name, base.config)
    backend.submitted = []
    yield backend
    start_cluster()
    for job_id in backend.submitted:
        with suppress(BackendError):
            backend.cancel(job_id)


def running(backend: SlurmBackend, job_id: str) -> JobStatus | None:
    status = backend.status([job_id])[job_id]
    return status if status.state is BackendState.RUNNING else None


def count_in_squeue(backend: SlurmBackend, job_id: str) -> int:
    """How many Slurm jobs carry this pnyx job's name (must stay 1)."""
    out = backend.run_slurm(["squeue", "--noheader", f"--name=pnyx-{job_id}", "--format=%A"])
    return len(out.split())


def test_a_killed_controller_loses_no_job_and_duplicates_none(slurm: SlurmBackend) -> None:
    specs = [long_job() for _ in range(3)]
    ids = {spec.job_id: slurm.submit(spec) for spec in specs}
    until(lambda: all(running(slurm, j) for j in ids), "the jobs to run")
    # slurmctld saves its job state in batches: a SIGKILL before the save loses the jobs in
    # Slurm itself, so wait until a save after they all ran (under load this takes seconds)
    # slurmctld saves only when its state is dirty: if it saved just before the jobs were seen
    # running, no later save comes by itself; one more submission makes the state dirty again,
    # so a save after this moment (with the three running jobs in it) is sure to follow
    marker = long_job()
    slurm.submit(marker)
    seen_running = time.time()
    job_state = Path(cluster_env()["PNYX_SLURM_DIR"]) / "alpha" / "state" / "job_state"
    until(lambda: job_state.stat().st_mtime > seen_running + 0.5, "slurmctld to save its state")

    kill_daemon("slurmctld")
    with pytest.raises(BackendUnavailableError):
        slurm.status(list(ids))
    with pytest.raises(BackendUnavailableError):
        slurm.submit(long_job())
    with pytest.raises(BackendUnavailableError):
        slurm.submit(specs[0])  # a retry while down must not submit blindly

    start_cluster()
    after = slurm.status(list(ids))
    for job_id, backend_id in ids.items():
        assert after[job_id].state is BackendState.RUNNING, after[job_id]
        assert after[job_id].backend_job_id == backend_id
        assert slurm.submit(next(s for s in specs if s.job_id == job_id)) == backend_id
        assert count_in_squeue(slurm, job_id) == 1
    slurm.cancel(marker.job_id)


def test_a_killed_slurmd_downs_its_node_and_requeues_its_job(slurm: SlurmBackend) -> None:
    spec = long_job("cl2", gpus=8)  # a whole node of node[3-4]
    backend_id = slurm.submit(spec)
    until(lambda: running(slurm, spec.job_id), "the job to run")
    node = slurm.status([spec.job_id])[spec.job_id].nodes[0]

    kill_daemon(f"slurmd-{node}")
    until(lambda: _node_state(slurm, node) == "down", f"{node} to be marked down")
    seen: list[JobStatus] = []
    # 22.05 puts it back PENDING (restart count 1), then holds it for 121 s (reason BeginTime)
    until(lambda: "BeginTime" in _seen(slurm, spec.job_id, seen).reason, "the job to be requeued")
    assert seen[-1].state is BackendState.REQUEUED, seen[-1]
    assert seen[-1].backend_job_id == backend_id  # the same Slurm job, queued again
    assert not {s.state for s in seen} & {BackendState.LOST, BackendState.NODE_FAIL}, seen
    assert [r.backend_job_id for r in slurm.accounting([spec.job_id])] == [backend_id]

    # skip Slurm's fixed requeue delay rather than wait two minutes
    slurm.run_slurm(["scontrol", "update", f"JobId={backend_id}", "StartTime=now"])
    until(lambda: (s := running(slurm, spec.job_id)) and node not in s.nodes, "a run elsewhere")
    slurm.cancel(spec.job_id)
    until(lambda: _state(slurm, spec.job_id).final, "the job to end")
    until(lambda: len(slurm.accounting([spec.job_id])) == 2, "one usage record per run")
    runs = slurm.accounting([spec.job_id])
    assert {r.backend_job_id for r in runs} == {backend_id}
    assert all(r.accelerators == 8 and r.accelerator_type == "h100" for r in runs), runs


def test_a_killed_slurmd_fails_a_job_that_forbids_requeue(slurm: SlurmBackend) -> None:
    spec = long_job("cl2", requeue=False, gpus=8)
    slurm.submit(spec)
    until(lambda: running(slurm, spec.job_id), "the job to run")
    node = slurm.status([spec.job_id])[spec.job_id].nodes[0]

    kill_daemon(f"slurmd-{node}")
    until(lambda: slurm.status([spec.job_id])[spec.job_id].state.final, "the job to end")
    done = slurm.status([spec.job_id])[spec.job_id]
    assert done.state is BackendState.NODE_FAIL, done
    assert _node_state(slurm, node) == "down"


def _node_state(backend: SlurmBackend, node: str) -> str:
    return next(n.state for n in backend.nodes() if n.name == node)


def _seen(backend: SlurmBackend, job_id: str, seen: list[JobStatus]) -> JobStatus:
    seen.append(backend.status([job_id])[job_id])
    return seen[-1]


def _state(backend: SlurmBackend, job_id: str) -> BackendState:
    return backend.status([job_id])[job_id].state
