"""One scheduling pass: priority order, placement, EASY backfill with reservations.

``schedule_pass(state, now_s)`` ranks the pending jobs (multifactor priority) and walks them in
order. A job that fits starts. The first ``config.reservations`` jobs that do not fit get a
reservation (shadow time and planned nodes, see :mod:`pnyx.sched.backfill`) and their capacity
is held; every later job may only start if it fits around the holds, or ends before every
shadow time. A job that could not run even on the emptied facility is reported in
``never_fits`` and reserves nothing. The started jobs are running in ``state`` from ``now_s``;
the driver makes the decisions real. Pure: no I/O, no clock reads.

Between two full passes, :func:`release_pass` starts jobs on capacity that ends released
(a scheduler reacting to job ends, as Slurm's main scheduler does): it walks the last full
pass's order (:class:`Carry`) again, holds what its reservations planned, and neither ranks,
reserves nor preempts; see its docstring for why that never delays a reservation.

Speed: within a pass capacity only shrinks, so a job shape (acceptable type, per-node size,
level) that failed at some size fails for every larger size; failures are cached per type, and
the walk filters each chunk of the queue against that cache with vector operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pnyx.sched.backfill import Forecast, Reservation, plan_reservation
from pnyx.sched.capacity import NO_FIT
from pnyx.sched.facility import MAX_LEVEL, BoolArray, FloatArray, IntArray
from pnyx.sched.jobs import JobRequest
from pnyx.sched.placement import Placement, place
from pnyx.sched.preemption import (
    Judge,
    PreemptionPlan,
    entitlement_gap,
    plan_member_preemptions,
    plan_preemption,
)
from pnyx.sched.priority import Ordering, priorities, rank, rank_by
from pnyx.sched.state import SchedulerState, Start
from pnyx.sched.views import CapacityView, HeldView

CHUNK = 512
"""Queue positions walked between two refreshes of the vectorised failure filter."""
NOW, SHORT = 0, 1
"""Failure-cache modes: placing around the holds, and placing a job that ends first."""


@dataclass
class Decisions:
    """What one pass decided."""

    now_s: float
    started: list[Start] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    never_fits: list[int] = field(default_factory=list)
    preemptions: list[PreemptionPlan] = field(default_factory=list)
    considered: int = 0
    carry: Carry | None = None
    """What a later :func:`release_pass` reuses (set by full passes only)."""


@dataclass
class Carry:
    """A full pass's queue order (slots, and the job ids in them then), each job's fair-share
    factor then (priority ordering only) and the pass's reservations."""

    order: IntArray
    job_ids: IntArray
    reservations: list[Reservation]
    fair: FloatArray | None = None
    owed: BoolArray | None = None
    """Per carried job: its member was owed capacity at the full pass (entitlement judge)."""
    reservation_fair: list[float] = field(default_factory=list)
    """The reservations' jobs' fair-share factors (priority ordering only)."""
    reservation_owed: list[bool] = field(default_factory=list)


def schedule_pass(state: SchedulerState, now_s: float) -> Decisions:
    """Decide which pending jobs start at ``now_s`` (and start them in ``state``)."""
    return _Pass(state, now_s).run()


def release_pass(state: SchedulerState, now_s: float, carry: Carry) -> Decisions:
    """Start pending jobs on capacity released since the full pass that made ``carry``.

    The jobs are tried in that pass's order (jobs queued since wait for the next full pass).
    Each carried reservation whose job is still pending first tries to start; if it cannot,
    then with ``release_backfill`` its plan nodes' free capacity is held up to what it planned
    there (all of it if exclusive), and later jobs start as in a full pass: around the holds,
    or on held capacity if they end before the shadow time. Without ``release_backfill`` the
    walk stops at the first job that does not fit.

    Why no reservation is delayed: on a plan node with ``F`` free accelerators and a plan of
    ``c``, holding ``min(F, c)`` lets a job that outlives the shadow time take at most
    ``F - c`` there when ``F >= c`` (the plan still has ``c`` plus whatever ends by then), and
    nothing when ``F < c``. Released capacity only makes the planned shadow time reachable
    sooner. A carried plan on a node that is down no longer holds: the pass then starts nothing.
    With ``release_bar`` too, a job does not overtake a blocked job of an owed member that
    ranks above it in fair share (see :class:`_ReleasePass`). The walked part of ``carry`` is
    shortened in place to the jobs still pending. Pure, like :func:`schedule_pass`.
    """
    return _ReleasePass(state, now_s, carry).run()


class _Pass:
    """One pass: its failure cache, its reservations and their shadow times."""

    def __init__(self, state: SchedulerState, now_s: float) -> None:
        self.state = state
        self.now_s = now_s
        self.failed: dict[tuple[int, int, int, int, int], int] = {}
        """(mode, type, per_node, project or -1, level) -> smallest need that failed."""
        self.never: dict[tuple[object, ...], int] = {}
        self.reservations: list[Reservation] = []
        self.min_shadow_s = math.inf
        self.stopped = False
        """Strict order (no backfill): a job did not fit, so no later job may start."""
        self.order_fair: FloatArray | None = None
        """The ranked jobs' fair-share factors (priority ordering only)."""
        self.out = Decisions(now_s)

    def run(self) -> Decisions:
        self.state.usage.advance(self.now_s)
        order = self._order()
        try:
            for a in range(0, order.size, CHUNK):
                if self.stopped:
                    break
                self._walk(order[a : a + CHUNK])
            self._note_waiting()
            self._preempt()
        finally:
            self.state.index.unhold_all()
        self.out.carry = self._carry(order)
        return self.out

    def _carry(self, order: IntArray) -> Carry:
        """What release passes reuse: the order, and with release backfill the fair-share
        factors and owed flags of its jobs (and of the reservations' jobs)."""
        ids = self.state.pending.job_id[order]
        config = self.state.config
        if not (config.release_backfill and config.release_bar) or self.order_fair is None:
            return Carry(order, ids, self.reservations)
        fair, owed = self.order_fair, self._owed(order)
        carry = Carry(order, ids, self.reservations, fair, owed)
        for r in self.reservations:
            at = int(np.flatnonzero(ids == r.job_id)[0])
            carry.reservation_fair.append(float(fair[at]))
            carry.reservation_owed.append(owed is None or bool(owed[at]))
        return carry

    def _owed(self, order: IntArray) -> BoolArray | None:
        """Per ranked job: is its member owed more than the tolerance (by the entitlement
        judge of the preemption policy)? None without that judge: every job counts as owed."""
        state = self.state
        policy = state.config.preemption
        if policy is None or policy.judge is not Judge.ENTITLEMENT:
            return None
        member, share = state.tree.members()
        gap = entitlement_gap(state, policy, member, share.size)
        owed_member: BoolArray = gap > policy.tolerance * state.fac.accelerators
        out: BoolArray = owed_member[member[state.pending.leaf[order]]]
        return out
        return self.out

    def _note_waiting(self) -> None:
        """Tell the usage tracker what each leaf has pending (its demand integral)."""
        q = self.state.pending
        slots = q.slots()
        waiting = np.bincount(q.leaf[slots], weights=q.accelerators[slots])
        self.state.usage.set_waiting(waiting.astype(np.float64))

    def _preempt(self) -> None:
        """Plan preemptions for the top blocked jobs (when the policy allows)."""
        policy = self.state.config.preemption
        if policy is None:
            return
        if policy.by_member:
            self.out.preemptions.extend(plan_member_preemptions(self.state, self.now_s))
        for reservation in self.reservations[: policy.plans_per_pass]:
            job = self.state.pending.job(self.state.pending.slot_of(reservation.job_id))
            plan = plan_preemption(self.state, job, reservation.shadow_s, self.now_s)
            if plan is not None:
                self.out.preemptions.append(plan)

    def _order(self) -> IntArray:
        state, q = self.state, self.state.pending
        slots = q.slots()
        ordering = state.config.ordering
        if ordering is not Ordering.PRIORITY:
            key = {
                Ordering.FIFO: np.zeros(slots.size),
                Ordering.SHORTEST: q.time_limit_s[slots],
                Ordering.LEAST_ATTAINED: q.attained_accel_s[slots],
            }[ordering]
            return slots[rank_by(key, q.submit_s[slots], q.job_id[slots])]
        fair = state.tree.factors(state.usage.usage)[q.leaf[slots]]
        prio = priorities(
            state.config.weights,
            fair,
            q.submit_s[slots],
            q.accelerators[slots],
            self.now_s,
            state.fac.accelerators,
            q.time_limit_s[slots],
        )
        ranked = rank(prio, q.submit_s[slots], q.job_id[slots])
        self.order_fair = fair[ranked]
        return slots[ranked]

    def _walk(self, chunk: IntArray) -> None:
        q = self.state.pending
        self.out.considered += chunk.size
        config = self.state.config
        if config.backfill and len(self.reservations) >= config.reservations:
            chunk = chunk[~self._hopeless(chunk)]
        consider = self._consider
        for job in q.jobs_at(chunk.tolist()):  # a pass only takes jobs out by starting them
            if self.stopped:
                return
            consider(job)

    def _hopeless(self, chunk: IntArray) -> BoolArray:
        """Jobs the failure cache already rules out (vectorised over the chunk)."""
        state, q = self.state, self.state.pending
        fail_now = self._shape_failures(NOW)
        fail_short = self._shape_failures(SHORT)
        need, shape = q.need[chunk], q.shape[chunk]
        short = self.now_s + q.time_limit_s[chunk] <= self.min_shadow_s
        out: BoolArray = (need >= fail_now[shape]) & (~short | (need >= fail_short[shape]))
        if state.index.owned_room:
            out &= ~np.isin(q.project[chunk], list(state.index.owned_room))
        return out

    def _shape_failures(self, mode: int) -> IntArray:
        """Per job shape: the smallest need known to fail on every acceptable type."""
        get = self.failed.get
        return np.array(
            [
                max(get((mode, t, g, -1, level), NO_FIT) for t in types)
                for types, level, g in self.state.shapes
            ]
            or [NO_FIT],
            dtype=np.int64,
        )

    def _consider(self, job: JobRequest) -> None:
        if not self._try_start(job):
            never = len(self.out.never_fits)
            if len(self.reservations) < self.state.config.reservations:
                self._reserve(job)
            blocked = len(self.out.never_fits) == never
            self.stopped = blocked and not self.state.config.backfill

    def _try_start(self, job: JobRequest) -> bool:
        """Start ``job`` now around the holds, or on held capacity if it ends before every
        shadow time; False if it fits neither way."""
        backfill = bool(self.reservations)
        index = self.state.index
        placement, use_held = self._attempt(job, NOW, index), False
        if placement is None and backfill and self.now_s + job.time_limit_s <= self.min_shadow_s:
            placement, use_held = self._attempt(job, SHORT, HeldView(index)), True
        if placement is None:
            return False
        one_pod = len(placement.allocation.nodes) > 1 and (
            placement.pods == 1 or _one_pod_room(HeldView(index) if use_held else index, job)
        )
        start = self.state.start(job, placement, self.now_s, backfill, use_held, one_pod)
        self.out.started.append(start)
        return True

    def _attempt(self, job: JobRequest, mode: int, view: CapacityView) -> Placement | None:
        """Place ``job`` on the types where no job of its shape and no larger failed.

        A failure also holds for stricter levels (fewer usable nodes; CL-3/4 exclusivity
        only removes more), so it is recorded for them too. Projects with room on their own
        exclusive nodes have failures of their own; for every other project only open nodes
        count, so they share them.
        """
        own = job.project if job.project in self.state.index.owned_room else -1
        g, need, failed = job.per_node or 0, job.need, self.failed
        types: tuple[int, ...]
        if len(job.types) == 1:
            types = job.types
            if need >= failed.get((mode, types[0], g, own, job.containment), NO_FIT):
                return None
        else:
            types = tuple(
                t
                for t in job.types
                if need < failed.get((mode, t, g, own, job.containment), NO_FIT)
            )
            if not types:
                return None
        placement = place(view, job, types)
        if placement is None:
            for t in types:
                for level in range(job.containment, MAX_LEVEL + 1):
                    key = (mode, t, g, own, level)
                    failed[key] = min(need, failed.get(key, NO_FIT))
        return placement

    def _reserve(self, job: JobRequest) -> None:
        never = (job.types, job.containment, job.per_node or 0, job.project)
        if job.need >= self.never.get(never, NO_FIT):
            self.out.never_fits.append(job.job_id)
            return
        index = self.state.index
        forecast = Forecast(index, self.state.running, self.now_s)
        planned = plan_reservation(forecast, job, self.reservations)
        if planned is None:
            if not self.reservations:
                self.never[never] = job.need
                self.out.never_fits.append(job.job_id)
            return
        reservation, hold = planned
        nodes = list(reservation.allocation.nodes)
        index.hold(nodes, hold.tolist())
        index.mark_plan(nodes, job.project)
        self.reservations.append(reservation)
        self.out.reservations.append(reservation)
        self.min_shadow_s = min(self.min_shadow_s, reservation.shadow_s)


class _ReleasePass(_Pass):
    """A release pass: the carried order and reservations, no ranking, reserving or preempting.

    With release backfill, ``release_bar`` and the priority ordering, a job does not overtake a
    blocked job of a more under-served user (a higher fair-share factor at the full pass) whose
    member is owed capacity (the preemption policy's entitlement judge; without it, every
    blocked job counts): what job ends free between two full passes then goes to the jobs
    ranked first or to the same fair-share standing, not, a few accelerators at a time, to
    better-served members' small jobs ahead of an owed member's waiting gang. At the next full
    pass everyone backfills again.

    Speed (it runs at every job end): the carried order is read a chunk at a time and only as
    far as the walk goes (it stops once nothing is free); each chunk is filtered with vector
    operations (still pending, not a reservation's job, no larger than the room its shape could
    find now, not below the bar), and the walked prefix is compacted.
    """

    def __init__(self, state: SchedulerState, now_s: float, carry: Carry) -> None:
        super().__init__(state, now_s)
        self.carry = carry
        self.bar = -math.inf
        """The highest fair-share factor of a job that did not fit in this pass."""
        self.bounds: IntArray | None = None

    def run(self) -> Decisions:
        if self._plan_node_down():
            return self.out
        try:
            self._resume_reservations()
            if not self.stopped:
                self._walk_carried()
        finally:
            self.state.index.unhold_all()
        return self.out

    def _plan_node_down(self) -> bool:
        up = self.state.index.up
        return any(not up[n] for r in self.carry.reservations for n in r.allocation.nodes)

    def _resume_reservations(self) -> None:
        """Start each carried reservation's job if it fits now, else hold for its plan."""
        q, index, carry = self.state.pending, self.state.index, self.carry
        for k, r in enumerate(carry.reservations):
            if r.job_id not in q:
                continue
            if self._try_start(q.job(q.slot_of(r.job_id))):
                continue
            if not self.state.config.release_backfill:
                self.stopped = True
                return
            if carry.reservation_fair and carry.reservation_owed[k]:
                self.bar = max(self.bar, carry.reservation_fair[k])
            nodes = list(r.allocation.nodes)
            counts = [index.free[n] for n in nodes] if r.exclusive else list(r.allocation.counts)
            index.hold(nodes, counts)
            index.mark_plan(nodes, r.project)
            self.reservations.append(r)
            self.min_shadow_s = min(self.min_shadow_s, r.shadow_s)

    def _walk_carried(self) -> None:
        """Walk the carried order chunk by chunk until the walk stops or nothing is free;
        then drop the walked positions whose job is no longer pending."""
        q, carry = self.state.pending, self.carry
        n, pos = carry.order.size, 0
        while pos < n and not self.stopped and not self._exhausted():
            chunk = carry.order[pos : pos + CHUNK]
            ids = carry.job_ids[pos : pos + CHUNK]
            keep = q.alive[chunk] & (q.job_id[chunk] == ids)
            for r in carry.reservations:
                keep &= ids != r.job_id
            fair = carry.fair[pos : pos + CHUNK] if carry.fair is not None else None
            owed = carry.owed[pos : pos + CHUNK] if carry.owed is not None else None
            chunk_bar = -math.inf
            if self.state.config.release_backfill:
                fits = self._may_fit(chunk)
                if self.failed:
                    fits &= ~self._hopeless(chunk)
                if fair is not None:
                    blocked = keep & ~fits if owed is None else keep & ~fits & owed
                    ok, chunk_bar = self._below_no_bar(fair, blocked)
                    keep &= ok
                keep &= fits
            at = np.flatnonzero(keep)
            self.out.considered += at.size
            self._walk_fair(
                chunk[at].tolist(),
                fair[at].tolist() if fair is not None else None,
                owed[at].tolist() if owed is not None else None,
            )
            self.bar = max(self.bar, chunk_bar)
            pos += CHUNK
        if pos:
            walked = min(pos, n)
            head = carry.order[:walked]
            live = q.alive[head] & (q.job_id[head] == carry.job_ids[:walked])
            if not live.all():
                keep_all = np.concatenate([live, np.ones(n - walked, dtype=np.bool_)])
                carry.order, carry.job_ids = carry.order[keep_all], carry.job_ids[keep_all]
                if carry.fair is not None:
                    carry.fair = carry.fair[keep_all]
                if carry.owed is not None:
                    carry.owed = carry.owed[keep_all]

    def _below_no_bar(self, fair: FloatArray, blocked: BoolArray) -> tuple[BoolArray, float]:
        """Jobs whose fair-share factor is at least that of every blocked job before them
        (the bar so far, and the chunk's jobs ruled out without a try), and the chunk's bar."""
        before = np.maximum.accumulate(np.where(blocked, fair, -math.inf))
        bar = np.maximum(np.concatenate([[self.bar], before[:-1]]), self.bar)
        ok: BoolArray = fair >= bar
        return ok, float(before[-1]) if before.size else -math.inf

    def _may_fit(self, chunk: IntArray) -> BoolArray:
        """Jobs no larger than the room their shape could find now (free, or held for one
        that ends first): a gang's nodes with room for it, else accelerators; jobs of projects
        with exclusive room of their own are kept."""
        if self.bounds is None:
            self.bounds = self._shape_bounds()
        q = self.state.pending
        ok: BoolArray = q.need[chunk] <= self.bounds[q.shape[chunk]]
        owned = self.state.index.owned_room
        if owned:
            ok |= np.isin(q.project[chunk], list(owned))
        return ok

    def _shape_bounds(self) -> IntArray:
        """Per job shape: an upper bound of the ``need`` it could get now. Capacity only
        shrinks within the pass, so it stays one."""
        index = self.state.index
        held_nodes, held_room = index.held_room_by_type()
        return np.array(
            [
                max(
                    index.open_bound(t, level, g) + (held_nodes[t] if g else held_room[t])
                    for t in types
                )
                for types, level, g in self.state.shapes
            ]
            or [0],
            dtype=np.int64,
        )

    def _exhausted(self) -> bool:
        index = self.state.index
        return index.open_free() == 0 and not index.owned_room and not index.held_nodes()

    def _walk_fair(
        self, slots: list[int], fair: list[float] | None, owed: list[bool] | None
    ) -> None:
        backfill = self.state.config.release_backfill
        jobs = self.state.pending.jobs_at(slots)
        for i, job in enumerate(jobs):
            if self.stopped:
                return
            f = fair[i] if fair is not None else 0.0
            if f < self.bar:
                continue
            if self._try_start(job):
                self.stopped = self._exhausted()
            elif not backfill:
                self.stopped = True
            elif fair is not None and (owed is None or owed[i]):
                self.bar = max(self.bar, f)


def _one_pod_room(view: CapacityView, job: JobRequest) -> bool:
    """Had some single pod room for ``job`` (on one of its types) in ``view``?"""
    return any(int(view.pod_capacity(job, t).max()) >= job.need for t in job.types)
