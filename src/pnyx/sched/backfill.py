"""EASY backfill reservations: a blocked job's earliest start (shadow time) and what to hold.

Running jobs are expected to end at ``start + time_limit`` (a job past its limit is expected
to end now). For a blocked job J the forecast state at time T is

    free_T  = free now (held included) + accelerators of entries ending by T
              - what earlier reservations planned on each node (all of it if exclusive)
    owner_T = the current exclusive owner if some entry on the node outlives T, else none

and the shadow time is the earliest T among "now" and the expected ends at which
:func:`~pnyx.sched.placement.place` finds room for J (binary search: with earlier plans fixed,
room only grows with T). J's plan is that placement. For later, lower-priority jobs the pass then
*holds* on each plan node the capacity J still needs from what is free now,

    hold = max(0, r + r_earlier - released_by_T)      (J not exclusive)
    hold = everything free now                        (J exclusive: the node must stay clean)

so that a job which outlives T can only use what J will not need; a job of another project may
not use its own exclusive nodes that J plans on (it would keep them exclusive past T); a job
ending by T may use held capacity. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pnyx.sched.capacity import FREE_OWNER, CapacityIndex
from pnyx.sched.facility import FloatArray, IntArray
from pnyx.sched.jobs import Allocation, JobRequest, RunningTable
from pnyx.sched.placement import Placement, place
from pnyx.sched.views import ArrayView


@dataclass(frozen=True, eq=False)
class Reservation:
    """A blocked job's planned start: shadow time and the allocation it expects then."""

    job_id: int
    project: int
    exclusive: bool
    shadow_s: float
    allocation: Allocation
    type_code: int


class Forecast:
    """Free capacity at future times, from the running jobs' expected ends."""

    def __init__(self, index: CapacityIndex, running: RunningTable, now_s: float) -> None:
        self.index = index
        node, count, end = running.entries()
        order = running.by_end()
        self.node, self.count = node[order], count[order]
        self.end: FloatArray = np.maximum(end[order], now_s)
        times = np.concatenate([[now_s], self.end])
        self.times: FloatArray = times[np.r_[True, times[1:] != times[:-1]]]
        self.now_free, self.owner, self.up, self.level = index.arrays()
        self.total = index.fac.total

    def released_by(self, t: float) -> IntArray:
        """Accelerators released on each node by time ``t``."""
        k = int(np.searchsorted(self.end, t, side="right"))
        return np.bincount(
            self.node[:k], weights=self.count[:k], minlength=self.index.fac.n_nodes
        ).astype(np.int64)

    def view_at(self, t: float, claimed: IntArray) -> tuple[ArrayView, IntArray]:
        """The state at ``t`` minus ``claimed`` accelerators, and what was released by ``t``."""
        rel = self.released_by(t)
        base = self.now_free + rel
        owner = np.where(base == self.total, FREE_OWNER, self.owner)
        free = np.maximum(base - claimed, 0)
        return ArrayView(self.index.fac, free, owner, self.up, self.level), rel


def claimed_by(fac_nodes: int, earlier: Sequence[Reservation]) -> IntArray:
    """Accelerators earlier reservations planned per node (a whole node if exclusive)."""
    claimed = np.zeros(fac_nodes, dtype=np.int64)
    for r in earlier:
        if r.exclusive:
            claimed[r.allocation.node_array()] = np.iinfo(np.int32).max
        else:
            claimed[r.allocation.node_array()] += r.allocation.count_array()
    return claimed


def plan_reservation(
    forecast: Forecast, job: JobRequest, earlier: Sequence[Reservation]
) -> tuple[Reservation, IntArray] | None:
    """The reservation for ``job`` and its per-node hold, or None if it never fits.

    "Never" means: not even when every running job has ended (given earlier reservations).
    """
    ix = forecast.index
    claimed = claimed_by(ix.fac.n_nodes, earlier)
    times = forecast.times
    fits = _Fits(forecast, job, claimed)
    if not fits(float(times[-1])):
        return None
    # The smallest index where the job fits (room only grows with time): gallop from "now",
    # then bisect the bracket; the same index a bisection of the whole range finds, in
    # O(log k) tries for an answer k (blocked small jobs fit at one of the first ends). The
    # tries only ask whether it fits; the placement is made once, at that index.
    lo, hi, step = 0, times.size - 1, 1
    while lo + step - 1 < hi:
        probe = lo + step - 1
        if fits(float(times[probe])):
            hi = probe
            break
        lo, step = probe + 1, 2 * step
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(float(times[mid])):
            hi = mid
        else:
            lo = mid + 1
    found = _try(forecast, job, float(times[hi]), claimed)
    assert found is not None, "the fit test and placement disagree"
    placement, rel = found
    alloc = placement.allocation
    reservation = Reservation(
        job.job_id, job.project, job.exclusive, float(times[hi]), alloc, placement.type_code
    )
    return reservation, _hold(ix, job, alloc, rel, claimed)


class _Fits:
    """``fits(t)``: would :func:`~pnyx.sched.placement.place` find room for ``job`` in the
    forecast at ``t`` (less ``claimed``)? Without placing: on some acceptable type, some
    cluster's usable capacity (accelerators when packing, nodes with ``per_node`` free for a
    gang) reaches the job's need, which is exactly when one of placement's three rules
    (one node, one pod, the fewest pods of one cluster) succeeds. The masks that do not
    depend on ``t`` are computed once."""

    def __init__(self, forecast: Forecast, job: JobRequest, claimed: IntArray) -> None:
        self.forecast, self.job, self.claimed = forecast, job, claimed
        fac = forecast.index.fac
        self.fac = fac
        ok = forecast.up & (forecast.level >= job.containment)
        self.ok = [ok & (fac.type_code == t) for t in job.types]
        self.open_or_mine = (forecast.owner == FREE_OWNER) | (forecast.owner == job.project)

    def __call__(self, t: float) -> bool:
        f, job, fac = self.forecast, self.job, self.fac
        base = f.now_free + f.released_by(t)
        idle = base == f.total
        free = np.maximum(base - self.claimed, 0)
        if job.exclusive:  # as usable_array, with the owner at t (none once idle)
            owner = np.where(idle, FREE_OWNER, f.owner)
            allowed = (owner == job.project) | ((owner == FREE_OWNER) & (free == fac.total))
        else:  # the same, shorter: an idle node has no owner
            allowed = idle | self.open_or_mine
        g = job.per_node or 0
        for ok in self.ok:
            usable = np.where(ok & allowed, free, 0)
            weights = (usable >= g) & (usable > 0) if g else usable
            per_pod = np.bincount(fac.pod, weights=weights, minlength=fac.n_pods)
            per_cluster = np.bincount(fac.pod_cluster, weights=per_pod, minlength=fac.n_clusters)
            if bool((per_cluster >= job.need).any()):
                return True
        return False


def _try(
    forecast: Forecast, job: JobRequest, t: float, claimed: IntArray
) -> tuple[Placement, IntArray] | None:
    view, rel = forecast.view_at(t, claimed)
    placement = place(view, job)
    return None if placement is None else (placement, rel)


def _hold(
    ix: CapacityIndex, job: JobRequest, alloc: Allocation, rel: IntArray, claimed: IntArray
) -> IntArray:
    """Extra capacity to hold on the plan's nodes, on top of what is held already."""
    free = np.asarray([ix.free[n] for n in alloc.nodes], dtype=np.int64)
    if job.exclusive:
        return free
    nodes = alloc.node_array()
    held = np.asarray([ix.held[n] for n in alloc.nodes], dtype=np.int64)
    earlier = np.minimum(claimed[nodes], ix.fac.total[nodes])
    hold: IntArray = np.maximum(alloc.count_array() + earlier - rel[nodes] - held, 0)
    return hold
