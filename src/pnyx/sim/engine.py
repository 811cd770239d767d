"""The discrete-event engine: drives the scheduling core through a workload, deterministically.

Events sit in a heap of ``(time, kind, seq, ...)`` (simpy's model): at one time, job ends come
first, then node failures, repairs, preemption deadlines, submissions. All events of one time
are applied to the :class:`~pnyx.sched.SchedulerState` with that time, then one
``schedule_pass`` runs (with ``tick_s > 0``, passes run only on multiples of ``tick_s``, as a
scheduler loop with a fixed interval would). Started jobs get an end event at ``now + the
runtime they still need``; a preempted or failed job's pending end is made stale by a
per-job token. Preemption plans are executed at their ``requeue_s``. Node failures (optional)
arrive with exponential gaps (facility rate = nodes / MTBF) and are repaired after
``repair_s``. Every random draw comes from one seeded generator, so a run is reproducible.

Every run segment is recorded (DESIGN section 8): job, member, accelerators, submit, start,
end, outcome.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched import (
    Decisions,
    JobRequest,
    PreemptionPlan,
    Requeue,
    SchedulerState,
    execute,
    schedule_pass,
)
from pnyx.sched.facility import FloatArray

FINISH, FAIL, REPAIR, PREEMPT, SUBMIT, PASS = range(6)
COMPLETED, PREEMPTED, FAILED = 0, 1, 2
OUTCOMES = ("completed", "preempted", "failed")


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of one simulation run."""

    seed: int = 0
    tick_s: float = 0.0
    """0: a pass after every batch of simultaneous events; else only every ``tick_s``."""
    mtbf_h: float = 0.0
    """Mean time between failures of one node, in hours (0: no failures)."""
    repair_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if self.tick_s < 0 or self.mtbf_h < 0 or not self.repair_s > 0:
            raise InvalidInputError("tick_s and mtbf_h must be >= 0, repair_s > 0")


@dataclass
class Segments:
    """Run segments as parallel lists (converted to arrays by the caller)."""

    job: list[int] = field(default_factory=list)
    start_s: list[float] = field(default_factory=list)
    end_s: list[float] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)

    def add(self, job: int, start_s: float, end_s: float, outcome: int) -> None:
        """Record one segment."""
        self.job.append(job)
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self.outcome.append(outcome)


@dataclass
class RunStats:
    """What the engine counted."""

    passes: int = 0
    events: int = 0
    never_fits: int = 0
    preempted_lost_accel_s: float = 0.0
    failed_lost_accel_s: float = 0.0
    wall_s: float = 0.0


class Engine:
    """One simulation: the state, the jobs (indexed by job id), the event heap, the record."""

    def __init__(
        self,
        state: SchedulerState,
        jobs: list[JobRequest],
        runtime_s: FloatArray,
        config: EngineConfig,
    ) -> None:
        self.state = state
        self.jobs = jobs
        self.remaining_s = np.asarray(runtime_s, dtype=np.float64).copy().tolist()
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.token = [0] * len(jobs)
        self.started_s = [-1.0] * len(jobs)
        self.plans: dict[int, PreemptionPlan] = {}
        self.segments = Segments()
        self.stats = RunStats()
        self.pass_due = False
        self.tick_at = -1.0

    def push(self, at_s: float, kind: int, a: int = 0, b: int = 0) -> None:
        """Schedule an event."""
        self.seq += 1
        heapq.heappush(self.heap, (at_s, kind, self.seq, a, b))

    def run(self) -> Segments:
        """Simulate until every job has ended (or can never run)."""
        began = time.perf_counter()
        for job in self.jobs:
            self.push(job.submit_s, SUBMIT, job.job_id)
        if self.config.mtbf_h > 0:
            self._next_failure(0.0)
        while self.heap:
            now = self.heap[0][0]
            while self.heap and self.heap[0][0] == now:
                self._apply(heapq.heappop(self.heap))
            if self.pass_due and (self.config.tick_s == 0 or self._on_tick(now)):
                self._pass(now)
            if self._only_failures_left():
                break
        self.stats.wall_s = time.perf_counter() - began
        counters = self.state.counters
        self.stats.preempted_lost_accel_s = counters.preempted_lost_accel_s
        self.stats.failed_lost_accel_s = counters.failed_lost_accel_s
        return self.segments

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
            self.config.mtbf_h > 0
            and not self.state.running.jobs
            and not len(self.state.pending)
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
            return
        decisions = schedule_pass(self.state, now)
        self.stats.passes += 1
        self._started(decisions, now)
        for plan in decisions.preemptions:
            self.seq += 1
            self.plans[self.seq] = plan
            heapq.heappush(self.heap, (plan.requeue_s, PREEMPT, self.seq, self.seq, 0))
        for job_id in decisions.never_fits:
            self.state.cancel(job_id)
            self.stats.never_fits += 1

    def _blocked(self) -> bool:
        """Nothing can start: no free accelerator (and no preemption to plan)."""
        index = self.state.index
        return (
            self.state.config.preemption is None and not index.owned_room and index.open_free() == 0
        )

    def _started(self, decisions: Decisions, now: float) -> None:
        for start in decisions.started:
            j = start.job_id
            self.token[j] += 1
            self.started_s[j] = now
            self.push(now + self.remaining_s[j], FINISH, j, self.token[j])
