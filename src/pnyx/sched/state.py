"""The scheduler's state: capacity, queue, running jobs, fair-share usage; how a driver
tells it what happened.

A driver (the scheduler worker, the simulator) owns a :class:`SchedulerState` and tells it what
happened, always passing the time: ``submit(job)``, ``release(job_id, now_s)`` when a job ends,
``fail_node(node, now_s)`` when a node dies (its jobs come back to the queue),
``requeue(job_id, now_s)`` to stop one and queue it again. A pass
(:func:`pnyx.sched.scheduler.schedule_pass`) decides what starts. Pure: no I/O, no clock reads.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pnyx.errors import ConflictError, InvalidInputError
from pnyx.sched.capacity import CapacityIndex
from pnyx.sched.facility import Facility
from pnyx.sched.jobs import Allocation, JobRequest, PendingQueue, RunningJob, RunningTable
from pnyx.sched.placement import Placement
from pnyx.sched.preemption import PreemptionPolicy
from pnyx.sched.priority import FairTree, Ordering, PriorityWeights, UsageTracker
from pnyx.sched.records import NATIVE, set_native


@dataclass(frozen=True)
class SchedulerConfig:
    """Knobs of the scheduling core."""

    weights: PriorityWeights = field(default_factory=PriorityWeights)
    reservations: int = 1
    """How many blocked top jobs get a reservation (1 = classic EASY backfill)."""
    half_life_s: float = 7 * 86_400.0
    requeue_failed: bool = True
    """Put the jobs of a failed node back in the queue (else only report them)."""
    billing_weights: tuple[float, ...] = ()
    """Usage charged per accelerator-second, by type code (missing codes: 1.0)."""
    preemption: PreemptionPolicy | None = None
    """Preempt over-served jobs for the top blocked job (None: never)."""
    ordering: Ordering = Ordering.PRIORITY
    """How the pass orders the queue: multifactor priority, or a baseline's order."""
    backfill: bool = True
    """Let later jobs start past a blocked one (False: strict order, the walk stops there)."""
    release_backfill: bool = False
    """At a release pass (:func:`~pnyx.sched.scheduler.release_pass`), let later jobs start
    around the carried reservations, as a full pass would (True); or start jobs in order and
    stop at the first blocked one (False: Slurm's event-triggered main scheduler, which leaves
    backfill to its periodic pass)."""
    release_bar: bool = False
    """With ``release_backfill``: at a release pass no job overtakes a blocked job of a member
    owed capacity (the preemption policy's entitlement judge; without it, of any member) that
    ranks above it in fair share. Fairer between passes, at some utilisation."""

    def __post_init__(self) -> None:
        if self.reservations < 0:
            raise InvalidInputError("reservations must be >= 0 (1 = classic EASY backfill)")
        if not self.half_life_s > 0:
            raise InvalidInputError("half_life_s must be > 0 (e.g. 604800 for one week)")


@dataclass(frozen=True)
class Start:
    """A decision to start a job now."""

    job_id: int
    allocation: Allocation
    type_code: int
    backfilled: bool
    pods: int = 1
    """Pods the allocation spans."""
    one_pod_possible: bool = False
    """A multi-node job some single pod had room for when it started."""

    def __init__(
        self,
        job_id: int,
        allocation: Allocation,
        type_code: int,
        backfilled: bool,
        pods: int = 1,
        one_pod_possible: bool = False,
    ) -> None:
        if NATIVE:
            set_native(
                self,
                job_id=job_id,
                allocation=allocation,
                type_code=type_code,
                backfilled=backfilled,
                pods=pods,
                one_pod_possible=one_pod_possible,
            )
            return
        d = self.__dict__  # fast init of a frozen instance (one per started job)
        d["job_id"], d["allocation"], d["type_code"] = job_id, allocation, type_code
        d["backfilled"], d["pods"], d["one_pod_possible"] = backfilled, pods, one_pod_possible


@dataclass(frozen=True)
class Requeue:
    """A job stopped before its end and queued again (from its last checkpoint if any)."""

    job: JobRequest
    """The request as re-queued: time limit reduced by the checkpointed progress."""
    kept_s: float
    lost_accel_s: float


@dataclass
class Counters:
    """Running totals a driver reports: preemptions, failures, and the work they lost."""

    preemptions: int = 0
    preempted_lost_accel_s: float = 0.0
    failed_jobs: int = 0
    failed_lost_accel_s: float = 0.0


class SchedulerState:
    """Capacity, queue, running jobs and fair-share usage of one facility."""

    def __init__(
        self,
        facility: Facility,
        config: SchedulerConfig | None = None,
        shares: Mapping[tuple[int, ...], float] | None = None,
        now_s: float = 0.0,
    ) -> None:
        self.fac = facility
        self.config = config or SchedulerConfig()
        self.index = CapacityIndex(facility)
        self.pending = PendingQueue()
        self.running = RunningTable()
        self.tree = FairTree(shares)
        self.usage = UsageTracker(self.config.half_life_s, now_s)
        self.counters = Counters()
        self.preempting: dict[int, float] = {}
        """Running jobs told to checkpoint, and when they will be requeued."""
        self.awaiting: dict[int, float] = {}
        """Blocked jobs with victims being preempted for them, and until when."""
        self._shape_ids: dict[tuple[tuple[int, ...], int, int], int] = {}
        self.shapes: list[tuple[tuple[int, ...], int, int]] = []
        """Job shapes seen so far: (types, containment, per_node or 0)."""

    def submit(self, job: JobRequest) -> None:
        """Queue a job."""
        if job.job_id in self.running.jobs:
            raise ConflictError(f"job {job.job_id} is already running")
        leaf = self.tree.leaf((job.member, job.programme, job.project, job.user))  # job.path
        self.usage.ensure(len(self.tree))
        shape = (job.types, job.containment, job.per_node or 0)
        shape_id = self._shape_ids.get(shape)
        if shape_id is None:
            shape_id = self._shape_ids[shape] = len(self.shapes)
            self.shapes.append(shape)
        self.pending.add(job, leaf, shape_id)

    def cancel(self, job_id: int) -> JobRequest:
        """Withdraw a pending job."""
        return self.pending.remove(job_id)

    def set_shares(self, shares: Mapping[tuple[int, ...], float]) -> None:
        """New fair-share targets (an enacted resolution, a new award)."""
        self.tree.set_shares(shares)

    def start(
        self,
        job: JobRequest,
        placement: Placement,
        now_s: float,
        backfilled: bool,
        use_held: bool = False,
        one_pod_possible: bool = False,
    ) -> Start:
        """Allocate ``placement`` to pending ``job`` and record it as running from ``now_s``.

        ``one_pod_possible``: the caller found a single pod with room (reported in Start).
        """
        alloc, tc = placement.allocation, placement.type_code
        job_id, pending = job.job_id, self.pending
        leaf = pending.leaf_of(job_id)
        self.index.allocate(alloc.nodes, alloc.counts, job.project, job.exclusive, use_held)
        pending.remove(job_id)
        if self.awaiting:
            self.awaiting.pop(job_id, None)
        weights = self.config.billing_weights
        rate = job.accelerators * (weights[tc] if tc < len(weights) else 1.0)
        usage = self.usage
        if now_s != usage.now_s:  # every start of a pass after the first is at the same time
            usage.advance(now_s)
        usage.add_rate(leaf, rate)
        self.running.add(RunningJob(job, now_s, alloc, tc, leaf, rate, backfilled))
        return Start(job_id, alloc, tc, backfilled, placement.pods, one_pod_possible)

    def release(self, job_id: int, now_s: float) -> RunningJob:
        """A running job ended (completed, cancelled, killed at its limit): free its nodes."""
        usage = self.usage
        if now_s != usage.now_s:
            usage.advance(now_s)
        run = self.running.remove(job_id)
        if self.preempting:
            self.preempting.pop(job_id, None)
        alloc = run.allocation
        self.index.release(alloc.nodes, alloc.counts)
        usage.add_rate(run.leaf, -run.rate)
        return run

    def requeue(self, job_id: int, now_s: float, checkpoint_s: float | None = None) -> Requeue:
        """Stop a running job (preemption) and queue it again from its last checkpoint.

        ``checkpoint_s``: when the job was told to checkpoint (the preemption signal); a job
        that declares checkpointing resumes from there.
        """
        out = requeued(self.release(job_id, now_s), now_s, checkpoint_s)
        self.submit(out.job)
        self.counters.preemptions += 1
        self.counters.preempted_lost_accel_s += out.lost_accel_s
        return out

    def fail_node(self, node: int, now_s: float) -> list[Requeue]:
        """Take a failed node out of service; its jobs are requeued (see ``requeue_failed``)."""
        self.index.set_up(node, False)
        out = []
        for job_id in self.running.jobs_on(node):
            item = requeued(self.release(job_id, now_s), now_s)
            if self.config.requeue_failed:
                self.submit(item.job)
            self.counters.failed_jobs += 1
            self.counters.failed_lost_accel_s += item.lost_accel_s
            out.append(item)
        return out

    def restore_node(self, node: int) -> None:
        """Bring a repaired node back into service."""
        self.index.set_up(node, True)


def requeued(run: RunningJob, now_s: float, checkpoint_s: float | None = None) -> Requeue:
    """The request to queue again after ``run`` stopped at ``now_s``, and the work lost.

    A job that declares a checkpoint interval resumes from its last checkpoint: the later of
    ``start + k * interval`` and ``checkpoint_s`` (a checkpoint made on a preemption signal).
    Lost work is the time since then times its accelerators; without checkpoints, all the time
    run is lost. The requeued job's time limit shrinks by the progress kept; the service it
    received (accelerators x time run, lost work included) adds to ``attained_accel_s``.
    """
    job = run.job
    elapsed = max(0.0, now_s - run.start_s)
    interval = job.checkpoint_interval_s
    kept = math.floor(elapsed / interval) * interval if interval else 0.0
    if interval and checkpoint_s is not None:
        kept = max(kept, min(elapsed, checkpoint_s - run.start_s))
    kept = min(kept, job.time_limit_s)
    lost = (elapsed - kept) * job.accelerators
    limit = max(job.time_limit_s - kept, min(job.time_limit_s, 1.0))
    attained = job.attained_accel_s + elapsed * job.accelerators
    again = dataclasses.replace(job, time_limit_s=limit, attained_accel_s=attained)
    return Requeue(again, kept, lost)
