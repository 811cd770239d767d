"""A stateful in-memory backend for unit tests: a small cluster whose clock the test drives.

Jobs move pending > running > succeeded / failed / cancelled / timeout / node_fail exactly as a
real engine reports them, but nothing runs: what a job does is a :class:`FakeProgram` (how long
it runs, its exit code, what it prints, which signals it traps), chosen per job by the
``program_for`` callable given to the backend. Time only moves when the test calls
:meth:`FakeBackend.advance` (or :meth:`FakeBackend.settle`, one second). Failures are injected
with :meth:`FakeBackend.fail_node`, :meth:`FakeBackend.set_unavailable`,
:meth:`FakeBackend.preempt` and :meth:`FakeBackend.forget`; explicit control with
:meth:`FakeBackend.start_pending` and :meth:`FakeBackend.finish`.
"""

from __future__ import annotations

import itertools
import signal as signals
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pnyx.backends.base import (
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
    JobStatus,
    NodeStatus,
    UsageRecord,
)
from pnyx.backends.local_run import signal_number

EPOCH = 1_800_000_000.0  # the fake clock's start (POSIX seconds)


@dataclass(frozen=True)
class FakeNode:
    """One node of the fake cluster."""

    name: str
    accelerator_type: str
    accelerators: int


@dataclass(frozen=True)
class FakeProgram:
    """What a fake job does once started (the in-memory stand-in for a process)."""

    duration_s: float | None = 1.0  # None: runs until cancelled or timed out
    exit_code: int = 0
    output: str = ""  # printed first
    print_env: tuple[str, ...] = ()  # then NAME=value for each of these
    traps: Mapping[int, str] = field(default_factory=dict)  # signum -> line printed on it
    children: int = 0  # extra processes (each gets a fake pid, printed as pid=N)


def default_program(spec: JobSpec) -> FakeProgram:
    """Every job runs one second and succeeds."""
    del spec
    return FakeProgram()


def default_nodes() -> list[FakeNode]:
    """Four nodes of eight h100 (the shape of the test Slurm cluster)."""
    return [FakeNode(f"node{i}", "h100", 8) for i in range(1, 5)]


@dataclass
class _Job:
    spec: JobSpec
    backend_job_id: str
    program: FakeProgram
    state: BackendState = BackendState.PENDING
    reason: str = ""
    exit_code: int | None = None
    slots: dict[str, tuple[int, ...]] = field(default_factory=dict)  # node -> indices
    start_time: float | None = None
    end_time: float | None = None
    checkpoint_sent: bool = False
    pids: tuple[int, ...] = ()
    log: list[str] = field(default_factory=list)
    runs: list[UsageRecord] = field(default_factory=list)


class FakeBackend:
    """In-memory cluster implementing :class:`pnyx.backends.base.Backend`; the test drives time."""

    def __init__(
        self,
        name: str = "fake",
        nodes: Sequence[FakeNode] | None = None,
        *,
        program_for: Callable[[JobSpec], FakeProgram] = default_program,
        now: float = EPOCH,
    ) -> None:
        self.name = name
        self.now = now
        self.program_for = program_for
        self.status_calls = 0  # how many status() queries were made (batching checks)
        self._nodes = {n.name: n for n in (nodes if nodes is not None else default_nodes())}
        self._down: dict[str, str] = {}
        self._jobs: dict[str, _Job] = {}
        self._unavailable = False
        self._ids = itertools.count(1001)
        self._pids = itertools.count(40_000)
        self._alive: set[int] = set()

    # -- the Backend protocol ---------------------------------------------------------------

    def submit(self, spec: JobSpec) -> str:
        """Queue ``spec`` (idempotent on its job id); it starts at the next scheduling pass."""
        self._check_available()
        if spec.job_id in self._jobs:
            return self._jobs[spec.job_id].backend_job_id
        self._check_fits(spec)
        signal_number(spec.checkpoint_signal)  # an unknown name is refused now, not at the limit
        job = _Job(spec, str(next(self._ids)), self.program_for(spec))
        self._jobs[spec.job_id] = job
        self._schedule()
        return job.backend_job_id

    def find(self, job_id: str) -> str | None:
        """The fake's id of ``job_id``, or None."""
        self._check_available()
        job = self._jobs.get(job_id)
        return job.backend_job_id if job else None

    def cancel(self, job_id: str) -> None:
        """Cancel a pending or running job now; finished or unknown jobs are left alone."""
        self._check_available()
        job = self._jobs.get(job_id)
        if job is None or job.state.final:
            return
        self._end(job, BackendState.CANCELLED, "cancelled by request", None)
        self._schedule()

    def signal(self, job_id: str, signum: int) -> None:
        """Deliver ``signum``: a trapped signal prints its line, any other one ends the job."""
        self._check_available()
        job = self._running(job_id)
        if job is not None:
            self._deliver(job, signum)
            self._schedule()

    def status(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Every job's state in one query; unknown ids are LOST."""
        self._check_available()
        self.status_calls += 1
        return {job_id: self._status_of(job_id) for job_id in job_ids}

    def accounting(self, job_ids: Sequence[str]) -> list[UsageRecord]:
        """One record per finished run of each job (requeued runs included)."""
        self._check_available()
        return [
            run for job_id in job_ids if job_id in self._jobs for run in self._jobs[job_id].runs
        ]

    def nodes(self) -> list[NodeStatus]:
        """Every node: down (with its reason), idle, mixed or allocated."""
        self._check_available()
        used = self._used_slots()
        return [
            self._node_status(node, len(used.get(node.name, ()))) for node in self._nodes.values()
        ]

    def logs(self, job_id: str, tail_bytes: int = 65_536) -> str:
        """What the job printed so far (its last ``tail_bytes``)."""
        self._check_available()
        job = self._jobs.get(job_id)
        if job is None:
            raise BackendError(f"job {job_id} is unknown to backend {self.name}")
        text = "".join(line + "\n" for line in job.log)
        return text.encode()[-tail_bytes:].decode(errors="replace")

    # -- driving the fake ---------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock forward, ending, timing out and starting jobs at their exact times."""
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds} s)")
        target = self.now + seconds
        self._schedule()
        while True:
            upcoming = [t for t in self._event_times() if t <= target]
            if not upcoming:
                break
            self.now = max(self.now, min(upcoming))
            self._fire_due()
            self._schedule()
        self.now = target

    def settle(self) -> None:
        """One second passes (the contract suite's hook for letting the engine work)."""
        self.advance(1.0)

    def start_pending(self) -> None:
        """Start every pending job that fits now (what each advance does first)."""
        self._schedule()

    def finish(self, job_id: str, exit_code: int = 0, output: str = "") -> None:
        """End a running job now with ``exit_code`` (SUCCEEDED for 0, else FAILED)."""
        job = self._running(job_id)
        if job is None:
            raise BackendError(f"job {job_id} is not running on backend {self.name}")
        if output:
            job.log.append(output)
        self._exit(job, exit_code)
        self._schedule()

    def fail_node(self, name: str, reason: str = "node failed") -> None:
        """Mark a node down; its jobs are requeued (when they allow it) or end NODE_FAIL."""
        if name not in self._nodes:
            raise BackendError(f"no node {name} on backend {self.name}")
        self._down[name] = reason
        for job in self._iter_state(BackendState.RUNNING):
            if name in job.slots:
                self._interrupt(job, BackendState.NODE_FAIL, f"node {name} failed: {reason}")
        self._schedule()

    def resume_node(self, name: str) -> None:
        """Bring a failed node back into service."""
        self._down.pop(name, None)
        self._schedule()

    def preempt(self, job_id: str, requeue: bool = False) -> None:
        """Preempt a running job: PREEMPTED, or back in the queue when ``requeue``."""
        job = self._running(job_id)
        if job is None:
            raise BackendError(f"job {job_id} is not running on backend {self.name}")
        if requeue:
            self._record_run(job)
            self._requeue(job, "preempted")
        else:
            self._end(job, BackendState.PREEMPTED, "preempted", None)
        self._schedule()

    def forget(self, job_id: str) -> None:
        """The engine loses every trace of a job (it will be reported LOST)."""
        job = self._jobs.pop(job_id, None)
        if job is not None:
            self._alive.difference_update(job.pids)

    def set_unavailable(self, unavailable: bool = True) -> None:
        """While set, every protocol call raises BackendUnavailableError."""
        self._unavailable = unavailable

    def pid_alive(self, pid: int) -> bool:
        """True while the fake process ``pid`` (printed as pid=N in a job's log) runs."""
        return pid in self._alive

    # -- internals ----------------------------------------------------------------------------

    def _check_available(self) -> None:
        if self._unavailable:
            raise BackendUnavailableError(f"backend {self.name} is unavailable (injected)")

    def _check_fits(self, spec: JobSpec) -> None:
        if spec.node_names:
            self._check_pinned(spec)
        fitting = [
            n
            for n in self._nodes.values()
            if n.accelerator_type == spec.accelerator_type
            and n.accelerators >= spec.accelerators_per_node
        ]
        if len(fitting) < spec.nodes:
            raise BackendError(
                f"job {spec.job_id} asks for {spec.nodes} node(s) x "
                f"{spec.accelerators_per_node} {spec.accelerator_type}; backend {self.name} "
                f"has only {len(fitting)} such node(s)"
            )

    def _running(self, job_id: str) -> _Job | None:
        job = self._jobs.get(job_id)
        if job is None:
            raise BackendError(f"job {job_id} is unknown to backend {self.name}")
        if job.state.final:
            return None
        if job.state is not BackendState.RUNNING:
            raise BackendError(f"job {job_id} is {job.state}, not running")
        return job

    def _iter_state(self, state: BackendState) -> Iterator[_Job]:
        return iter([j for j in self._jobs.values() if j.state is state])

    def _used_slots(self) -> dict[str, set[int]]:
        used: dict[str, set[int]] = {}
        for job in self._iter_state(BackendState.RUNNING):
            for node, idx in job.slots.items():
                used.setdefault(node, set()).update(idx)
        return used

    def _node_status(self, node: FakeNode, used: int) -> NodeStatus:
        if node.name in self._down:
            state, reason = "down", self._down[node.name]
        else:
            state = "idle" if used == 0 else "allocated" if used >= node.accelerators else "mixed"
            reason = ""
        return NodeStatus(node.name, state, node.accelerator_type, node.accelerators, reason)

    def _schedule(self) -> None:
        """Start waiting jobs in submission order, each on the first nodes with room."""
        waiting = (BackendState.PENDING, BackendState.REQUEUED)
        for job in [j for j in self._jobs.values() if j.state in waiting]:
            slots = self._place(job.spec)
            if slots is not None:
                self._start(job, slots)

    def _check_pinned(self, spec: JobSpec) -> None:
        """Pinned nodes must exist, be distinct, one per node of the gang, of the job's type
        with enough accelerators (as Slurm refuses a ``--nodelist`` it cannot honour)."""
        names = spec.node_names
        unknown = [n for n in names if n not in self._nodes]
        if unknown or len(set(names)) != len(names) or len(names) != spec.nodes:
            raise BackendError(
                f"job {spec.job_id}: node list {list(names)} does not name {spec.nodes} distinct "
                f"node(s) of backend {self.name} (unknown: {unknown})"
            )
        bad = [
            n
            for n in names
            if self._nodes[n].accelerator_type != spec.accelerator_type
            or self._nodes[n].accelerators < spec.accelerators_per_node
        ]
        if bad:
            raise BackendError(
                f"job {spec.job_id}: nodes {bad} have no {spec.accelerators_per_node} "
                f"{spec.accelerator_type}"
            )

    def _place(self, spec: JobSpec) -> dict[str, tuple[int, ...]] | None:
        used = self._used_slots()
        chosen: dict[str, tuple[int, ...]] = {}
        pinned = spec.node_names
        for node in [self._nodes[n] for n in pinned] if pinned else self._nodes.values():
            if node.name in self._down or node.accelerator_type != spec.accelerator_type:
                continue
            free = [i for i in range(node.accelerators) if i not in used.get(node.name, set())]
            if len(free) >= spec.accelerators_per_node:
                chosen[node.name] = tuple(free[: spec.accelerators_per_node])
            if len(chosen) == spec.nodes:
                return chosen
        return None

    def _start(self, job: _Job, slots: dict[str, tuple[int, ...]]) -> None:
        job.state, job.reason, job.slots = BackendState.RUNNING, "", slots
        job.start_time, job.end_time, job.checkpoint_sent = self.now, None, False
        job.pids = tuple(next(self._pids) for _ in range(1 + job.program.children))
        self._alive.update(job.pids)
        env = self._env(job)
        if job.program.output:
            job.log.append(job.program.output)
        job.log.extend(f"{name}={env.get(name, '<unset>')}" for name in job.program.print_env)
        job.log.extend(f"pid={pid}" for pid in job.pids)

    def _env(self, job: _Job) -> dict[str, str]:
        first = next(iter(job.slots.values()))
        devices = ",".join(str(i) for i in first)
        return {
            **job.spec.env,
            "PNYX_JOB_ID": job.spec.job_id,
            "PNYX_ACCELERATORS": devices,
            "CUDA_VISIBLE_DEVICES": devices,
        }

    def _event_times(self) -> list[float]:
        times: list[float] = []
        for job in self._iter_state(BackendState.RUNNING):
            start = job.start_time if job.start_time is not None else self.now
            limit = start + job.spec.time_limit_s
            times.append(limit)
            if job.spec.checkpoint_signal and not job.checkpoint_sent:
                times.append(limit - job.spec.grace_s)
            if job.program.duration_s is not None:
                times.append(start + job.program.duration_s)
        return times

    def _fire_due(self) -> None:
        for job in self._iter_state(BackendState.RUNNING):
            start = job.start_time if job.start_time is not None else self.now
            limit = start + job.spec.time_limit_s
            ckpt = signal_number(job.spec.checkpoint_signal)
            if ckpt and not job.checkpoint_sent and self.now >= limit - job.spec.grace_s:
                job.checkpoint_sent = True
                self._deliver(job, ckpt)
            if job.state is not BackendState.RUNNING:
                continue
            duration = job.program.duration_s
            if duration is not None and self.now >= start + duration and start + duration < limit:
                self._exit(job, job.program.exit_code)
            elif self.now >= limit:
                self._end(job, BackendState.TIMEOUT, "time limit reached", None)

    def _exit(self, job: _Job, exit_code: int) -> None:
        if exit_code == 0:
            self._end(job, BackendState.SUCCEEDED, "", 0)
        else:
            self._end(job, BackendState.FAILED, f"exit code {exit_code}", exit_code)

    def _deliver(self, job: _Job, signum: int) -> None:
        trap = job.program.traps.get(signum)
        if trap is not None:
            job.log.append(trap)
            return
        name = signals.Signals(signum).name
        self._end(job, BackendState.FAILED, f"killed by signal {name}", 128 + signum)

    def _end(self, job: _Job, state: BackendState, reason: str, exit_code: int | None) -> None:
        if job.state is BackendState.RUNNING:
            self._record_run(job)
            job.end_time = self.now
        job.state, job.reason, job.exit_code = state, reason, exit_code
        job.slots = {}

    def _interrupt(self, job: _Job, state: BackendState, reason: str) -> None:
        if job.spec.requeue:
            self._record_run(job)
            self._requeue(job, reason)
        else:
            self._end(job, state, reason, None)

    def _requeue(self, job: _Job, reason: str) -> None:
        self._alive.difference_update(job.pids)
        job.state, job.reason, job.slots = BackendState.REQUEUED, reason, {}

    def _record_run(self, job: _Job) -> None:
        assert job.start_time is not None
        self._alive.difference_update(job.pids)
        job.runs.append(
            UsageRecord(
                job_id=job.spec.job_id,
                backend_job_id=job.backend_job_id,
                accelerator_type=job.spec.accelerator_type,
                accelerators=job.spec.nodes * job.spec.accelerators_per_node,
                start_time=job.start_time,
                end_time=self.now,
            )
        )

    def _status_of(self, job_id: str) -> JobStatus:
        job = self._jobs.get(job_id)
        if job is None:
            return JobStatus(job_id, "", BackendState.LOST, f"unknown to backend {self.name}")
        return JobStatus(
            job_id=job_id,
            backend_job_id=job.backend_job_id,
            state=job.state,
            reason=job.reason,
            exit_code=job.exit_code,
            nodes=tuple(job.slots),
            start_time=job.start_time,
            end_time=job.end_time,
        )
