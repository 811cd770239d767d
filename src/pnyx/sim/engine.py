"""The discrete-event engine: drives the scheduling core through a workload, deterministically.

Events sit in a heap of ``(time, kind, seq, ...)`` (simpy's model): at one time, job ends come
first, then node failures, repairs, preemption deadlines, submissions. All events of one time
are applied to the :class:`~pnyx.sched.SchedulerState` with that time, then one
``schedule_pass`` runs (with ``tick_s > 0``, passes run only on multiples of ``tick_s``, as a
scheduler loop with a fixed interval would; with ``release_passes`` too, job ends between two
ticks get a ``release_pass`` at once, as a scheduler reacting to job ends would: it reuses the
last full pass's order and reservations, and a node failure voids them until the next one).
Started jobs get an end event at ``now + the runtime they still need``; a preempted or failed
job's pending end is made stale by a per-job token. Preemption plans are executed at their
``requeue_s``. Node failures (optional) arrive with exponential gaps (facility rate = nodes /
MTBF) and are repaired after ``repair_s``. Every random draw comes from one seeded generator,
so a run is reproducible.

Submissions do not enter the heap: they are streamed in submission order (a merge with the
heap, applied after the heap's events of the same time, as their kind ranks), and each job's
request is only asked of the job source when it is submitted, so a run over millions of jobs
holds the running and pending jobs as objects, not all of them. Per-job state (runtime still
needed, start, token) and the record are typed arrays of 8 bytes per entry.

Every run segment is recorded (DESIGN section 8): job, member, accelerators, submit, start,
end, outcome. After every pass (and skipped pass) the engine samples the free accelerators and
those no pending job could use (:func:`pnyx.sched.fragmentation.unusable_free`), time-weighted
until the next sample; multi-node starts are counted by whether they landed in one pod.
"""

from __future__ import annotations

import gc
import heapq
import math
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched import (
    Carry,
    Decisions,
    JobRequest,
    PreemptionPlan,
    Requeue,
    SchedulerState,
    execute,
    release_pass,
    schedule_pass,
)
from pnyx.sched.facility import FloatArray
from pnyx.sched.fragmentation import unusable_free

FINISH, FAIL, REPAIR, PREEMPT, SUBMIT, PASS = range(6)
COMPLETED, PREEMPTED, FAILED = 0, 1, 2
OUTCOMES = ("completed", "preempted", "failed")
CHUNK = 65_536
"""Submissions converted to Python lists at a time."""


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of one simulation run."""

    seed: int = 0
    tick_s: float = 0.0
    """0: a pass after every batch of simultaneous events; else only every ``tick_s``."""
    mtbf_h: float = 0.0
    """Mean time between failures of one node, in hours (0: no failures)."""
    repair_s: float = 4 * 3600.0
    release_passes: bool = False
    """With ``tick_s > 0``: a release pass at each time jobs end between two ticks."""

    def __post_init__(self) -> None:
        if self.tick_s < 0 or self.mtbf_h < 0 or not self.repair_s > 0:
            raise InvalidInputError("tick_s and mtbf_h must be >= 0, repair_s > 0")
        if self.release_passes and self.tick_s == 0:
            raise InvalidInputError(
                "release passes need a tick (tick_s > 0): without one a pass follows every event"
            )


@dataclass
class Segments:
    """Run segments as parallel typed arrays (numpy reads them without copying)."""

    job: array[int] = field(default_factory=lambda: array("q"))
    start_s: array[float] = field(default_factory=lambda: array("d"))
    end_s: array[float] = field(default_factory=lambda: array("d"))
    outcome: array[int] = field(default_factory=lambda: array("b"))

    def add(self, job: int, start_s: float, end_s: float, outcome: int) -> None:
        """Record one segment."""
        self.job.append(job)
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self.outcome.append(outcome)


@dataclass
class Samples:
    """Fragmentation samples: from ``at_s`` on (until the next), free and unusable accelerators."""

    at_s: array[float] = field(default_factory=lambda: array("d"))
    free: array[int] = field(default_factory=lambda: array("q"))
    unusable: array[int] = field(default_factory=lambda: array("q"))


@dataclass
class RunStats:
    """What the engine counted."""

    passes: int = 0
    release_passes: int = 0
    events: int = 0
    never_fits: int = 0
    preempted_lost_accel_s: float = 0.0
    failed_lost_accel_s: float = 0.0
    wall_s: float = 0.0
    free_accel_s: float = 0.0
    """Free accelerators x time, sampled after each pass, over ``[0, horizon_s)``."""
    unusable_accel_s: float = 0.0
    """Of those, accelerators no pending job could use, x time."""
    waiting_free_accel_s: float = 0.0
    """Free accelerators x time while some job was pending."""
    sampled_s: float = 0.0
    multi_node_starts: int = 0
    one_pod_possible: int = 0
    """Multi-node starts for which some single pod had room."""
    one_pod_placed: int = 0
    """Of those, the starts placed within one pod."""


class Engine:
    """One simulation: the state, the jobs (indexed by job id), the event heap, the record.

    ``jobs`` may be any sequence indexed by job id; it is read at each job's submission only
    (a lazy source keeps memory bounded). ``horizon_s``: fragmentation is averaged over
    ``[0, horizon_s)`` (default: until the last event).
    """

    def __init__(
        self,
        state: SchedulerState,
        jobs: Sequence[JobRequest],
        runtime_s: FloatArray,
        config: EngineConfig,
        submit_s: FloatArray | None = None,
        horizon_s: float = math.inf,
    ) -> None:
        self.state = state
        self.jobs = jobs
        n = len(jobs)
        self.remaining_s = array("d", np.asarray(runtime_s, dtype=np.float64).tobytes())
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.token = array("q", bytes(8 * n))
        self.started_s = array("d", bytes(8 * n))
        self.plans: dict[int, PreemptionPlan] = {}
        self.carry: Carry | None = None
        """The last full pass's order and reservations, for release passes."""
        self.segments = Segments()
        self.samples = Samples()
        self.stats = RunStats()
        self.pass_due = False
        self.tick_at = -1.0
        self.horizon_s = horizon_s
        self._sample: tuple[float, int, int, bool] | None = None
        if submit_s is None:
            submit_s = np.array([job.submit_s for job in jobs], dtype=np.float64)
        submit_s = np.asarray(submit_s, dtype=np.float64)
        self._order = (
            None
            if n < 2 or bool(np.all(submit_s[1:] >= submit_s[:-1]))
            else np.argsort(submit_s, kind="stable")
        )
        self._submit_all = submit_s
        self._next_chunk = 0
        self._sub_t: list[float] = []
        self._sub_j: list[int] = []
        self._sub_i = 0

    def push(self, at_s: float, kind: int, a: int = 0, b: int = 0) -> None:
        """Schedule an event."""
        self.seq += 1
        heapq.heappush(self.heap, (at_s, kind, self.seq, a, b))

    def run(self) -> Segments:
        """Simulate until every job has ended (or can never run).

        The cyclic garbage collector is paused meanwhile (and restored after): the engine
        makes no reference cycles, and collections over millions of live job objects cost
        about 6 % of a large run.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if paused:
                gc.enable()

    def _run(self) -> Segments:
        began = time.perf_counter()
        if self.config.mtbf_h > 0:
            self._next_failure(0.0)
        heap, pop, apply = self.heap, heapq.heappop, self._apply
        token, started, stats = self.token, self.started_s, self.stats
        running, release, seg = self.state.running.jobs, self.state.release, self.segments
        seg_job, seg_start, seg_end = seg.job.append, seg.start_s.append, seg.end_s.append
        seg_outcome = seg.outcome.append
        tick, failures = self.config.tick_s, self.config.mtbf_h > 0
        on_release = tick > 0 and self.config.release_passes
        inf = math.inf
        while True:
            sub_t, i = self._sub_t, self._sub_i
            if i >= len(sub_t):
                self._refill()
                sub_t, i = self._sub_t, 0
            t_sub = sub_t[i] if sub_t else inf
            now = heap[0][0] if heap and heap[0][0] < t_sub else t_sub
            if now == inf:
                break
            freed = False
            while heap and heap[0][0] == now:
                event = pop(heap)
                j = event[3]
                if event[1] == FINISH and token[j] == event[4] and j in running:
                    release(j, now)
                    seg_job(j)  # Segments.add, inlined
                    seg_start(started[j])
                    seg_end(now)
                    seg_outcome(COMPLETED)
                    stats.events += 1
                    self.pass_due = freed = True
                else:
                    apply(event)
            if t_sub == now:
                self._submit_at(now)
            # a PASS is already queued at tick_at, the next tick after any earlier time
            if self.pass_due and (tick == 0 or (now >= self.tick_at and self._on_tick(now))):
                self._pass(now)
            elif freed and on_release and self.carry is not None:
                self._release_pass(now)
            if failures and self._only_failures_left():
                break
        self._close_sample(self._last_time())
        self.stats.wall_s = time.perf_counter() - began
        counters = self.state.counters
        self.stats.preempted_lost_accel_s = counters.preempted_lost_accel_s
        self.stats.failed_lost_accel_s = counters.failed_lost_accel_s
        return self.segments

    def _refill(self) -> None:
        """Load the next chunk of submissions (times and job ids, in submission order)."""
        a = self._next_chunk
        b = min(a + CHUNK, self._submit_all.size)
        self._next_chunk = b
        ids = np.arange(a, b) if self._order is None else self._order[a:b]
        self._sub_j = ids.tolist()
        self._sub_t = self._submit_all[ids].tolist()
        self._sub_i = 0

    def _submit_at(self, now: float) -> None:
        """Queue every job submitted at ``now`` (after the heap's events of that time)."""
        submit, jobs, stats = self.state.submit, self.jobs, self.stats
        while True:
            times, ids, i = self._sub_t, self._sub_j, self._sub_i
            end, first = len(times), i
            while i < end and times[i] == now:
                submit(jobs[ids[i]])
                i += 1
            stats.events += i - first
            self._sub_i = i
            if i < end:
                break
            self._refill()
            if not self._sub_t:
                break
        self.pass_due = True

    def _submissions_left(self) -> bool:
        return self._sub_i < len(self._sub_t) or self._next_chunk < self._submit_all.size

    def _on_tick(self, now: float) -> bool:
        tick = self.config.tick_s
        at = -(-now // tick) * tick
        if at > now:
            if at != self.tick_at:
                self.tick_at = at
                self.push(at, PASS)
            return False
        return True

    def _only_failures_left(self) -> bool:
        return (
            not self.state.running.jobs
            and not len(self.state.pending)
            and not self._submissions_left()
            and all(kind in (FAIL, REPAIR, PASS) for _, kind, *_ in self.heap)
        )

    def _apply(self, event: tuple[float, int, int, int, int]) -> None:
        now, kind, _, a, b = event
        self.stats.events += 1
        if kind == FINISH:
            if self.token[a] == b and a in self.state.running.jobs:
                self.state.release(a, now)
                self.segments.add(a, self.started_s[a], now, COMPLETED)
                self.pass_due = True
        elif kind == SUBMIT:
            self.state.submit(self.jobs[a])
            self.pass_due = True
        elif kind == PREEMPT:
            self._requeued(execute(self.state, self.plans.pop(a), now), now, PREEMPTED)
        elif kind == FAIL:
            self._fail(now)
        elif kind == REPAIR:
            self.state.restore_node(a)
            self.pass_due = True
        elif kind == PASS:
            self.pass_due = True

    def _requeued(self, items: list[Requeue], now: float, outcome: int) -> None:
        for item in items:
            j = item.job.job_id
            self.segments.add(j, self.started_s[j], now, outcome)
            self.remaining_s[j] = max(0.0, self.remaining_s[j] - item.kept_s)
            self.token[j] += 1
        if items:
            self.pass_due = True

    def _fail(self, now: float) -> None:
        self.carry = None
        up = np.flatnonzero(self.state.index.arrays()[2])
        if up.size:
            node = int(up[self.rng.integers(up.size)])
            self._requeued(self.state.fail_node(node, now), now, FAILED)
            self.push(now + self.config.repair_s, REPAIR, node)
        self._next_failure(now)

    def _next_failure(self, now: float) -> None:
        rate = self.state.fac.n_nodes / (self.config.mtbf_h * 3600.0)
        self.push(now + float(self.rng.exponential(1.0 / rate)), FAIL)

    def _pass(self, now: float) -> None:
        self.pass_due = False
        if not len(self.state.pending) or self._blocked():
            self._take_sample(now)
            return
        decisions = schedule_pass(self.state, now)
        self.stats.passes += 1
        self.carry = decisions.carry
        self._started(decisions, now)
        for plan in decisions.preemptions:
            self.seq += 1
            self.plans[self.seq] = plan
            heapq.heappush(self.heap, (plan.requeue_s, PREEMPT, self.seq, self.seq, 0))
        for job_id in decisions.never_fits:
            self.state.cancel(job_id)
            self.stats.never_fits += 1
        self._take_sample(now)

    def _release_pass(self, now: float) -> None:
        """Start jobs on what ended at ``now``, between two ticks (no sample: they are taken
        at full passes)."""
        if not len(self.state.pending):
            return
        assert self.carry is not None
        decisions = release_pass(self.state, now, self.carry)
        self.stats.release_passes += 1
        self._started(decisions, now)

    def _blocked(self) -> bool:
        """Nothing can start: no free accelerator (and no preemption to plan)."""
        index = self.state.index
        return (
            self.state.config.preemption is None and not index.owned_room and index.open_free() == 0
        )

    def _started(self, decisions: Decisions, now: float) -> None:
        token, started, remaining = self.token, self.started_s, self.remaining_s
        heap, push = self.heap, heapq.heappush
        stats = self.stats
        seq = self.seq
        for start in decisions.started:
            j = start.job_id
            token[j] += 1
            started[j] = now
            seq += 1
            push(heap, (now + remaining[j], FINISH, seq, j, token[j]))
            if len(start.allocation.nodes) > 1:
                stats.multi_node_starts += 1
                if start.one_pod_possible:
                    stats.one_pod_possible += 1
                    stats.one_pod_placed += start.pods == 1
        self.seq = seq

    # -- fragmentation samples ----------------------------------------------------------------

    def _take_sample(self, now: float) -> None:
        """Close the previous sample at ``now`` and open one with the state after the pass."""
        self._close_sample(now)
        free, unusable = unusable_free(self.state)
        self._sample = (now, free, unusable, len(self.state.pending) > 0)
        samples = self.samples
        if samples.at_s and samples.at_s[-1] == now:
            samples.free[-1], samples.unusable[-1] = free, unusable
        else:
            samples.at_s.append(now)
            samples.free.append(free)
            samples.unusable.append(unusable)

    def _close_sample(self, now: float) -> None:
        if self._sample is None:
            return
        since, free, unusable, waiting = self._sample
        dt = max(0.0, min(now, self.horizon_s) - min(since, self.horizon_s))
        self.stats.free_accel_s += free * dt
        self.stats.unusable_accel_s += unusable * dt
        if waiting:
            self.stats.waiting_free_accel_s += free * dt
        self.stats.sampled_s += dt
        self._sample = None

    def _last_time(self) -> float:
        if self.segments.end_s:
            return max(self.segments.end_s)
        return self._sample[0] if self._sample is not None else 0.0
