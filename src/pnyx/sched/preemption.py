"""Preemption: make room for a blocked under-served job by requeueing over-served ones.

Policy (applied at the end of a pass, to the top reservation only, when enabled):

- the beneficiary is the highest-priority blocked job; it must have waited ``min_wait_s``,
  its reservation must start at least ``min_gain_s`` from now, and its *member* must not be
  above its share (member-level Level Fairshare >= 1, see :mod:`pnyx.sched.priority`):
  Council shares are per member, so that is the level at which over-service is judged;
- victims are running ``preemptible`` jobs of *other* members that are above their share
  (member LF < 1), most over-served member first, then least work lost (time since the last
  checkpoint times accelerators), at most ``max_victims``;
- with ``judge=Judge.ALLOCATION`` (or ``ENTITLEMENT``) "above / below its share" compares
  the accelerators a member runs now with its weighted max-min share among the members that
  want accelerators now, instead of the decayed usage;
- the fewest victims, in that order, whose release lets the beneficiary be placed (binary
  search over the prefix length; placement is monotone in the capacity given back).

With ``by_member``, every pass first plans for each under-served member's whole deficit
(:func:`plan_member_preemptions`), judged by allocation or, with ``Judge.ENTITLEMENT``, by
decayed usage against the weighted max-min share of the decayed capacity over the members'
decayed demands (DESIGN section 8's entitlement, continuous).

The plan does not stop anything: the driver sends the victims a checkpoint signal at
``signal_s`` and calls :func:`execute` at ``requeue_s``, which requeues each victim still
running from the checkpoint made on the signal and counts the work lost. ``requeue_s`` is the
end of the grace period, or, with ``exit_s``, the time a checkpointing victim needs to write
its checkpoint and exit (its lost work). Meanwhile the victims are not chosen again and the
beneficiary (with ``by_member``: its member) gets no second plan. Pure: no I/O, no clock reads.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched.capacity import FREE_OWNER
from pnyx.sched.facility import FloatArray, IntArray
from pnyx.sched.jobs import JobRequest, RunningJob, RunningTable
from pnyx.sched.placement import place
from pnyx.sched.priority import water_fill
from pnyx.sched.views import ArrayView

if TYPE_CHECKING:
    from pnyx.sched.state import Requeue, SchedulerState


class Judge(StrEnum):
    """How preemption decides that a member is above or below its share.

    ``usage``: the member's Level Fairshare from decayed usage against its enacted share (all
    members' shares, as Fair Tree does). ``allocation``: the accelerators the member runs now
    against its weighted max-min share of the facility among the members that want
    accelerators now (running + pending), the entitlement of DESIGN section 8.
    """

    USAGE = "usage"
    ALLOCATION = "allocation"
    ENTITLEMENT = "entitlement"
    """Per member, over time: its decayed usage against its weighted max-min share of the
    decayed capacity over every member's decayed demand (running + pending accelerators),
    i.e. DESIGN section 8's entitlement with exponential decay instead of daily buckets. A
    member that was idle is entitled to catch up on a burst; the gap in accelerator-seconds
    is spread over ``repay_s``."""
    ATTAINED = "attained"
    """Per job, not per member (Tiresias-like LAS): a blocked job that has received less than
    ``attained_threshold_accel_s`` of service may preempt running jobs, of any member, that
    have received at least that much (most served first)."""


@dataclass(frozen=True)
class PreemptionPolicy:
    """When preemption may happen, and how gently."""

    grace_s: float = 300.0
    """Between the checkpoint signal and the requeue."""
    min_wait_s: float = 600.0
    """The beneficiary must have waited this long."""
    min_gain_s: float = 3_600.0
    """...and would otherwise wait at least this much longer."""
    max_victims: int = 256
    judge: Judge = Judge.USAGE
    plans_per_pass: int = 1
    """Blocked jobs with a reservation that may get a plan in one pass, in priority order."""
    attained_threshold_accel_s: float = 3_600.0
    """With ``Judge.ATTAINED``: the service that moves a job to the low-priority queue."""
    by_member: bool = False
    """With ``Judge.ALLOCATION`` or ``ENTITLEMENT``: also plan for each under-served
    member's whole deficit at once (see :func:`plan_member_preemptions`), not only for the
    top blocked job."""
    tolerance: float = 0.0
    """Hysteresis, as a fraction of the facility's accelerators: a member is under- or
    over-served only by more than this, and victims never take a member below its share."""
    min_run_s: float = 0.0
    """A job that started less than this ago is never a victim (Slurm's PreemptExemptTime):
    what was just given is not taken back at once, so preemption cannot thrash."""
    repay_s: float = 3_600.0
    """With ``Judge.ENTITLEMENT``: a gap of G accelerator-seconds asks for G / repay_s
    accelerators now."""
    exit_s: float | None = None
    """Seconds a checkpointing victim needs to write its checkpoint on the signal and exit
    (at most ``grace_s``); its nodes are free from then. None: every victim runs until the
    end of the grace period (the work after the signal is lost)."""

    def __post_init__(self) -> None:
        if min(self.grace_s, self.min_wait_s, self.min_gain_s) < 0 or self.max_victims < 1:
            raise InvalidInputError("preemption: times must be >= 0 and max_victims >= 1")
        if self.plans_per_pass < 1:
            raise InvalidInputError("preemption: plans_per_pass must be >= 1")
        if not 0.0 <= self.tolerance < 1.0 or (self.exit_s is not None and self.exit_s < 0):
            raise InvalidInputError("preemption: tolerance must be in [0, 1) and exit_s >= 0")

    def requeue_delay_s(self, victims: list[RunningJob]) -> float:
        """From the signal to the requeue: the exit time when every victim checkpoints."""
        if self.exit_s is not None and all(r.job.checkpoint_interval_s for r in victims):
            return min(self.grace_s, self.exit_s)
        return self.grace_s


@dataclass(frozen=True)
class PreemptionPlan:
    """Victims to checkpoint now and requeue after the grace period, for ``job_id``."""

    job_id: int
    victims: tuple[int, ...]
    signal_s: float
    requeue_s: float


def plan_preemption(
    state: SchedulerState, job: JobRequest, shadow_s: float, now_s: float
) -> PreemptionPlan | None:
    """A plan that lets blocked ``job`` (reserved for ``shadow_s``) start soon, or None."""
    policy = state.config.preemption
    if policy is None or job.job_id in state.awaiting:
        return None
    if now_s - job.submit_s < policy.min_wait_s or shadow_s - now_s < policy.min_gain_s:
        return None
    victims = _victims(state, policy, job, now_s)
    if victims is None:
        return None
    count = _fewest(state, job, victims)
    if count is None:
        return None
    return _commit(state, policy, job, victims[:count], now_s)


def _commit(
    state: SchedulerState,
    policy: PreemptionPolicy,
    job: JobRequest,
    victims: list[RunningJob],
    now_s: float,
) -> PreemptionPlan:
    """Record the plan: the victims are being preempted, ``job`` awaits them."""
    chosen = tuple(run.job.job_id for run in victims)
    plan = PreemptionPlan(job.job_id, chosen, now_s, now_s + policy.requeue_delay_s(victims))
    state.awaiting[job.job_id] = plan.requeue_s
    for victim in chosen:
        state.preempting[victim] = plan.requeue_s
    return plan


def plan_member_preemptions(state: SchedulerState, now_s: float) -> list[PreemptionPlan]:
    """Plans that free each under-served member's whole deficit at once (``by_member``).

    A member's *gap* (accelerators it should gain, < 0: lose): with ``Judge.ALLOCATION`` its
    weighted max-min share of the facility over what every member runs (less the victims
    already being preempted) plus what it has pending, minus what it runs; with
    ``Judge.ENTITLEMENT`` see :func:`entitlement_gap`. A member is under-served when its gap
    exceeds the tolerance and it has jobs that waited ``min_wait_s``; its deficit is the
    smaller of the gap and those jobs' accelerators. Victims are the running preemptible jobs
    (started at least ``min_run_s`` ago) of the members whose gap is below minus the
    tolerance, most over-served (running / entitled) first, then the jobs nearest their time
    limit first, and never take a member beyond its excess. The plan is kept only if the
    member's longest-waiting job would fit once the victims are gone. A member with a plan
    in flight gets no second one.
    """
    policy = state.config.preemption
    q = state.pending
    slots = q.slots()
    if policy is None or not slots.size:
        return []
    member, share = state.tree.members()
    n = share.size
    leaving = np.zeros(n)
    for job_id in state.preempting:
        run = state.running.jobs.get(job_id)
        if run is not None:
            leaving[member[run.leaf]] += run.rate
    running = np.bincount(member, weights=state.usage.rate[: member.size], minlength=n) - leaving
    job_member = member[q.leaf[slots]]
    pending = np.bincount(job_member, weights=q.accelerators[slots], minlength=n)
    ripe = q.submit_s[slots] <= now_s - policy.min_wait_s
    waited = np.bincount(job_member[ripe], weights=q.accelerators[slots][ripe], minlength=n)
    if policy.judge is Judge.ENTITLEMENT:
        gap = entitlement_gap(state, policy, member, n)
    else:
        gap = water_fill(float(state.fac.accelerators), running + pending, share) - running
    excess = -gap
    entitled = running + gap
    slack = policy.tolerance * state.fac.accelerators
    busy = {int(member[q.leaf[q.slot_of(j)]]) for j in state.awaiting if j in q}
    deficit = np.where(gap > slack, np.minimum(gap, waited), 0.0)
    deficit[list(busy)] = 0.0
    over = excess > slack
    if not (deficit > 0).any() or not over.any():
        return []
    rt = state.running
    heads = _available(state, now_s, policy.min_run_s)
    heads = heads[over[member[rt.leaf[heads]]]]
    if not heads.size:
        return []
    cand_member = member[rt.leaf[heads]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(entitled > 0, running / entitled, np.inf)
    # most over-served member first, then nearest its limit; ties in start order (stable)
    order = np.lexsort((rt.end_s[heads] - now_s, -ratio[cand_member]))
    walk = _Walk(rt.job_id[heads[order]], cand_member[order], rt.rate[heads[order]], excess)
    plans = []
    for m in np.argsort(-deficit, kind="stable").tolist():
        if deficit[m] <= 0:
            break
        chosen = walk.take(float(deficit[m]), policy.max_victims)
        victims = [rt.jobs[j] for j in walk.ids[chosen].tolist()]
        mine = slots[ripe & (job_member == m)]
        top = q.job(int(mine[np.argmin(q.submit_s[mine])]))
        if victims and _fits_after(state, top, victims)(len(victims)):
            plans.append(_commit(state, policy, top, victims, now_s))
            continue
        walk.give_back(chosen)
    return plans


class _Walk:
    """The victims' greedy walk of :func:`plan_member_preemptions` over the ordered candidates.

    A member's walk takes each candidate not taken yet whose rate fits its member's remaining
    excess, until the need is met or ``max_victims`` are taken. Candidates that cannot fit at
    the start of a walk never fit during it (excess only shrinks, taken only grows), so the
    walk visits only the others, and jumps over the rest of a block of one member's
    candidates once that member's excess is below its smallest candidate.
    """

    def __init__(self, ids: IntArray, members: IntArray, rates: FloatArray, excess: FloatArray):
        self.ids, self.members, self.rates = ids, members, rates
        self.excess: list[float] = excess.tolist()
        self.taken = np.zeros(ids.size, dtype=np.bool_)
        smallest = np.full(excess.size, np.inf)
        np.minimum.at(smallest, members, rates)
        self.smallest: list[float] = smallest.tolist()

    def take(self, need: float, max_victims: int) -> list[int]:
        """Positions taken for one member's ``need`` (the same as a walk over all of them)."""
        excess, smallest = self.excess, self.smallest
        ok = ~self.taken & (self.rates <= np.asarray(excess)[self.members])
        at = np.flatnonzero(ok)
        if not at.size:
            return []
        members = self.members[at]
        blocks = (np.flatnonzero(members[1:] != members[:-1]) + 1).tolist()
        pos, members_l, rates = at.tolist(), members.tolist(), self.rates[at].tolist()
        chosen: list[int] = []
        i, n = 0, len(pos)
        while i < n:
            if need <= 0 or len(chosen) >= max_victims:
                break
            v, r = members_l[i], rates[i]
            if r > excess[v]:
                if excess[v] < smallest[v]:
                    k = bisect_right(blocks, i)
                    i = blocks[k] if k < len(blocks) else n
                else:
                    i += 1
                continue
            chosen.append(pos[i])
            excess[v] -= r
            need -= r
            i += 1
        self.taken[chosen] = True
        return chosen

    def give_back(self, chosen: list[int]) -> None:
        """Undo :meth:`take` (the plan was not kept)."""
        excess = self.excess
        for c in chosen:
            excess[int(self.members[c])] += float(self.rates[c])
        self.taken[chosen] = False


def _available(state: SchedulerState, now_s: float, min_run_s: float) -> IntArray:
    """Head entries of the running preemptible jobs not being preempted that started at
    least ``min_run_s`` ago, in start order."""
    rt = state.running
    heads = rt.live_jobs()
    ok = rt.preemptible[heads] & (now_s - rt.start_s[heads] >= min_run_s)
    if state.preempting:
        busy = [h for j in state.preempting if (h := rt.head_of(j)) is not None]
        ok &= ~np.isin(heads, busy)
    out: IntArray = heads[ok]
    return out


def entitlement_gap(
    state: SchedulerState, policy: PreemptionPolicy, member: IntArray, n: int
) -> FloatArray:
    """Per member: accelerators to give (> 0) or take (< 0) now, by ``Judge.ENTITLEMENT``."""
    usage, k = state.usage, member.size
    used = np.bincount(member, weights=usage.usage[:k], minlength=n)
    demand = np.bincount(member, weights=usage.demand[:k], minlength=n).astype(np.float64)
    _, share = state.tree.members()
    entitled = water_fill(state.fac.accelerators * usage.span_s, demand, share)
    gap: FloatArray = (entitled - used) / policy.repay_s
    return gap


def member_service(state: SchedulerState, judge: Judge) -> FloatArray:
    """Per leaf: its member's service ratio, >= 1 when at or below its share (see Judge)."""
    if judge is Judge.USAGE:
        lf: FloatArray = state.tree.level_fairshare(state.usage.usage)[:, 0]
        return lf
    member, share = state.tree.members()
    n, q = share.size, state.pending
    running = np.bincount(member, weights=state.usage.rate[: member.size], minlength=n)
    slots = q.slots()
    waiting = np.bincount(member[q.leaf[slots]], weights=q.accelerators[slots], minlength=n)
    demand = np.asarray(running + waiting, dtype=np.float64)
    entitled = water_fill(float(state.fac.accelerators), demand, share)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(running > 0, entitled / running, np.where(entitled > 0, np.inf, 1.0))
    out: FloatArray = ratio[member]
    return out


def _victims(
    state: SchedulerState, policy: PreemptionPolicy, job: JobRequest, now_s: float
) -> list[RunningJob] | None:
    """The candidate victims in order of preference, or None when ``job`` may not preempt."""
    rt = state.running
    if policy.judge is Judge.ATTAINED:
        threshold = policy.attained_threshold_accel_s
        if job.attained_accel_s >= threshold:
            return None
        heads = _available(state, now_s, -math.inf)
        attained = _attained(rt, heads, now_s)
        keep = attained >= threshold
        heads, attained = heads[keep], attained[keep]
        order = np.lexsort((_at_risk(rt, heads, now_s), -attained))
        return _runs(rt, heads[order[: policy.max_victims]])
    member_lf = member_service(state, policy.judge)
    if member_lf[state.tree.leaf(job.path)] < 1.0:
        return None
    return _candidates(state, job, member_lf, now_s)[: policy.max_victims]


def _runs(rt: RunningTable, heads: IntArray) -> list[RunningJob]:
    return [rt.jobs[j] for j in rt.job_id[heads].tolist()]


def _attained(rt: RunningTable, heads: IntArray, now_s: float) -> FloatArray:
    """Service received so far: before the last requeue plus this run."""
    out: FloatArray = (
        rt.attained_accel_s[heads] + (now_s - rt.start_s[heads]) * rt.accelerators[heads]
    )
    return out


def _candidates(
    state: SchedulerState, job: JobRequest, member_lf: FloatArray, now_s: float
) -> list[RunningJob]:
    """Preemptible running jobs of other members below their share, least served first,
    then least work at risk, ties in start order."""
    rt = state.running
    heads = _available(state, now_s, -math.inf)
    member, _ = state.tree.members()
    leaf = rt.leaf[heads]
    lf = member_lf[leaf]
    keep = (member[leaf] != member[state.tree.leaf(job.path)]) & (lf < 1.0)
    heads, lf = heads[keep], lf[keep]
    order = np.lexsort((_at_risk(rt, heads, now_s), lf))
    return _runs(rt, heads[order])


def _at_risk(rt: RunningTable, heads: IntArray, now_s: float) -> FloatArray:
    """Accelerator-seconds since the last periodic checkpoint (all of it without any)."""
    elapsed = now_s - rt.start_s[heads]
    interval = rt.checkpoint_s[heads]
    has = interval > 0
    since = np.where(has, np.remainder(elapsed, np.where(has, interval, 1.0)), elapsed)
    out: FloatArray = since * rt.accelerators[heads]
    return out


def _fewest(state: SchedulerState, job: JobRequest, victims: list[RunningJob]) -> int | None:
    """Smallest k such that releasing ``victims[:k]`` lets ``job`` be placed, or None."""
    if not victims:
        return None
    fits = _fits_after(state, job, victims)
    if not fits(len(victims)):
        return None
    lo, hi = 1, len(victims)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fits_after(
    state: SchedulerState, job: JobRequest, victims: list[RunningJob]
) -> Callable[[int], bool]:
    """``fits(k)``: could ``job`` be placed once ``victims[:k]`` have released their nodes?"""
    ix = state.index
    free, owner, up, level = ix.arrays()
    nodes = np.concatenate([run.allocation.node_array() for run in victims])
    counts = np.concatenate([run.allocation.count_array() for run in victims])
    ends = np.cumsum([len(run.allocation.nodes) for run in victims])

    def fits(k: int) -> bool:
        cut = int(ends[k - 1])
        back = np.bincount(nodes[:cut], weights=counts[:cut], minlength=ix.fac.n_nodes)
        free_k = free + back.astype(np.int64)
        owner_k = np.where(free_k == ix.fac.total, FREE_OWNER, owner)
        return place(ArrayView(ix.fac, free_k, owner_k, up, level), job) is not None

    return fits


def execute(state: SchedulerState, plan: PreemptionPlan, now_s: float) -> list[Requeue]:
    """Requeue the plan's victims that still run, from their checkpoint at the signal."""
    out = []
    for victim in plan.victims:
        state.preempting.pop(victim, None)
        if victim in state.running.jobs:
            out.append(state.requeue(victim, now_s, checkpoint_s=plan.signal_s))
    state.awaiting.pop(plan.job_id, None)
    return out
