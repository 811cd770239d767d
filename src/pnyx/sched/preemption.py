"""Preemption: make room for a blocked under-served job by requeueing over-served ones.

Policy (applied at the end of a pass, to the top reservation only, when enabled):

- the beneficiary is the highest-priority blocked job; it must have waited ``min_wait_s``,
  its reservation must start at least ``min_gain_s`` from now, and its *member* must not be
  above its share (member-level Level Fairshare >= 1, see :mod:`pnyx.sched.priority`):
  Council shares are per member, so that is the level at which over-service is judged;
- victims are running ``preemptible`` jobs of *other* members that are above their share
  (member LF < 1), most over-served member first, then least work lost (time since the last
  checkpoint times accelerators), at most ``max_victims``;
- with ``judge=Judge.ALLOCATION`` "above / below its share" compares the accelerators a
  member runs now with its weighted max-min share among the members that want accelerators
  now, instead of the decayed usage;
- the fewest victims, in that order, whose release lets the beneficiary be placed (binary
  search over the prefix length; placement is monotone in the capacity given back).

The plan does not stop anything: the driver sends the victims a checkpoint signal at
``signal_s`` and calls :func:`execute` at ``requeue_s`` (after the grace period), which
requeues each victim still running from the checkpoint made on the signal and counts the
work lost. Meanwhile the victims are not chosen again and the beneficiary gets no second plan.
Pure: no I/O, no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched.capacity import FREE_OWNER
from pnyx.sched.facility import FloatArray
from pnyx.sched.jobs import JobRequest, RunningJob
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
    attained_threshold_accel_s: float = 3_600.0
    """With ``Judge.ATTAINED``: the service that moves a job to the low-priority queue."""
    """Blocked jobs with a reservation that may get a plan in one pass, in priority order."""

    def __post_init__(self) -> None:
        if min(self.grace_s, self.min_wait_s, self.min_gain_s) < 0 or self.max_victims < 1:
            raise InvalidInputError("preemption: times must be >= 0 and max_victims >= 1")
        if self.plans_per_pass < 1:
            raise InvalidInputError("preemption: plans_per_pass must be >= 1")


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
    chosen = tuple(run.job.job_id for run in victims[:count])
    plan = PreemptionPlan(job.job_id, chosen, now_s, now_s + policy.grace_s)
    state.awaiting[job.job_id] = plan.requeue_s
    for victim in chosen:
        state.preempting[victim] = plan.requeue_s
    return plan


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
    if policy.judge is Judge.ATTAINED:
        threshold = policy.attained_threshold_accel_s
        if job.attained_accel_s >= threshold:
            return None
        runs = [
            run
            for run in state.running.jobs.values()
            if run.job.preemptible
            and run.job.job_id not in state.preempting
            and _attained(run, now_s) >= threshold
        ]
        runs.sort(key=lambda r: (-_attained(r, now_s), _at_risk(r, now_s)))
        return runs[: policy.max_victims]
    member_lf = member_service(state, policy.judge)
    if member_lf[state.tree.leaf(job.path)] < 1.0:
        return None
    return _candidates(state, job, member_lf, now_s)[: policy.max_victims]


def _attained(run: RunningJob, now_s: float) -> float:
    """Service received so far: before the last requeue plus this run."""
    return run.job.attained_accel_s + (now_s - run.start_s) * run.job.accelerators


def _candidates(
    state: SchedulerState, job: JobRequest, member_lf: FloatArray, now_s: float
) -> list[RunningJob]:
    runs = [
        run
        for run in state.running.jobs.values()
        if run.job.preemptible
        and run.job.member != job.member
        and run.job.job_id not in state.preempting
        and member_lf[run.leaf] < 1.0
    ]
    return sorted(runs, key=lambda r: (float(member_lf[r.leaf]), _at_risk(r, now_s)))


def _at_risk(run: RunningJob, now_s: float) -> float:
    """Accelerator-seconds since the last periodic checkpoint (all of it without any)."""
    elapsed = now_s - run.start_s
    interval = run.job.checkpoint_interval_s
    since = elapsed % interval if interval else elapsed
    return since * run.job.accelerators


def _fewest(state: SchedulerState, job: JobRequest, victims: list[RunningJob]) -> int | None:
    """Smallest k such that releasing ``victims[:k]`` lets ``job`` be placed, or None."""
    if not victims:
        return None
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


def execute(state: SchedulerState, plan: PreemptionPlan, now_s: float) -> list[Requeue]:
    """Requeue the plan's victims that still run, from their checkpoint at the signal."""
    out = []
    for victim in plan.victims:
        state.preempting.pop(victim, None)
        if victim in state.running.jobs:
            out.append(state.requeue(victim, now_s, checkpoint_s=plan.signal_s))
    state.awaiting.pop(plan.job_id, None)
    return out
