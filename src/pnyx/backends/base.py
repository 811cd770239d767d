"""The one Protocol every execution backend implements (fake, local, slurm).

Backends are addressed by the **pnyx job id**, never by the engine's own id: a backend keeps the
mapping (the local backend in its state directory, Slurm in the job's name/comment), so that a
resubmission after a crash finds the job it already started instead of starting it twice.

Times are POSIX seconds (floats) as the engine reports them; services turn them into ISO instants.
Every method may raise :class:`BackendUnavailableError` when the engine cannot be reached; callers
keep their state and retry with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pnyx.errors import PnyxError


class BackendError(PnyxError):
    """The backend refused a request (bad spec, unknown job...); the message says why."""


class BackendUnavailableError(BackendError):
    """The engine could not be reached (daemon down, command failed to run); retry later."""


class BackendState(StrEnum):
    """A job's state as the engine reports it (mapped onto pnyx job states by the dispatcher)."""

    PENDING = "pending"  # accepted, waiting for resources
    RUNNING = "running"
    COMPLETING = "completing"  # ended, engine still cleaning up
    SUCCEEDED = "succeeded"  # exit code 0
    FAILED = "failed"  # non-zero exit code, or failed to launch
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"  # ran past its time limit
    PREEMPTED = "preempted"
    NODE_FAIL = "node_fail"  # a node it ran on failed
    REQUEUED = "requeued"  # the engine put it back in its queue (node failure, preemption)
    LOST = "lost"  # the engine has no trace of a job it was given

    @property
    def final(self) -> bool:
        """True when the engine will never run this job again by itself."""
        return self in _FINAL


_FINAL = frozenset(
    {
        BackendState.SUCCEEDED,
        BackendState.FAILED,
        BackendState.CANCELLED,
        BackendState.TIMEOUT,
        BackendState.PREEMPTED,
        BackendState.NODE_FAIL,
        BackendState.LOST,
    }
)


@dataclass(frozen=True)
class JobSpec:
    """What a backend needs to run one job (already admitted and placed by pnyx)."""

    job_id: str  # pnyx job id: the idempotency key
    command: tuple[str, ...]  # argv of the entry point (no shell)
    accelerator_type: str  # the one type chosen for this run
    nodes: int = 1
    accelerators_per_node: int = 1
    time_limit_s: int = 3600
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    partition: str | None = None  # the containment partition on Slurm
    account: str | None = None  # the project, for the engine's own accounting
    containment: int = 1
    preemptible: bool = False
    checkpoint_signal: str | None = None  # e.g. "USR1": sent grace_s before the time limit
    grace_s: int = 0
    requeue: bool = True  # may the engine requeue it after a node failure
    node_names: tuple[str, ...] = ()  # pinned nodes (pnyx placed it); () lets the engine choose


@dataclass(frozen=True)
class JobStatus:
    """One job as the engine sees it now."""

    job_id: str
    backend_job_id: str
    state: BackendState
    reason: str = ""
    exit_code: int | None = None
    nodes: tuple[str, ...] = ()
    start_time: float | None = None
    end_time: float | None = None


@dataclass(frozen=True)
class UsageRecord:
    """Accelerator-seconds one finished (or requeued) run of a job consumed."""

    job_id: str
    backend_job_id: str
    accelerator_type: str
    accelerators: int
    start_time: float
    end_time: float

    @property
    def accel_seconds(self) -> int:
        """accelerators x elapsed seconds, rounded up to whole seconds."""
        elapsed = max(0.0, self.end_time - self.start_time)
        return int(-(-elapsed * self.accelerators // 1))


@dataclass(frozen=True)
class NodeStatus:
    """One node of the backend's cluster."""

    name: str
    state: str  # idle | allocated | mixed | down | drained
    accelerator_type: str
    accelerators: int
    reason: str = ""


@runtime_checkable
class Backend(Protocol):
    """Submit, cancel, signal, batched status, accounting and node states of one cluster."""

    name: str  # the cluster name (as in the facility inventory)

    def submit(self, spec: JobSpec) -> str:
        """Start ``spec`` and return the engine's id; idempotent on ``spec.job_id``."""
        ...

    def find(self, job_id: str) -> str | None:
        """The engine's id of pnyx job ``job_id`` if the engine knows it, else None."""
        ...

    def cancel(self, job_id: str) -> None:
        """Cancel the job (all its processes); a finished or unknown job is a no-op."""
        ...

    def signal(self, job_id: str, signum: int) -> None:
        """Deliver ``signum`` to every process of a running job."""
        ...

    def status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The state of many jobs in ONE engine query; a job the engine never heard of is LOST."""
        ...

    def accounting(self, job_ids: Sequence[str]) -> list[UsageRecord]:
        """Usage of the finished runs of ``job_ids`` (one record per run, requeues included)."""
        ...

    def nodes(self) -> list[NodeStatus]:
        """Every node of the cluster and its state."""
        ...

    def logs(self, job_id: str, tail_bytes: int = 65_536) -> str:
        """The last ``tail_bytes`` of the job's combined stdout and stderr."""
        ...
