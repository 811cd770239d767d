"""Gang, topology- and containment-aware placement with best fit.

Rules, in order (all or nothing; all nodes of one allocation share one accelerator type, one
of the job's acceptable types):

1. **One node** when the job can fit in one (packing jobs of at most a node's size, and gangs
   of one node): the node whose usable free count is the smallest that still fits (best fit).
2. **One pod** otherwise: the pod whose usable capacity (accelerators when packing, nodes with
   ``per_node`` free for a gang) is the smallest that still fits. Inside it a gang takes the
   nodes with the least free that fit; a packing job takes the fullest-free nodes first (fewest
   nodes) and the tightest node for the remainder.
3. **Fewest pods of one cluster** otherwise: per cluster, the largest pods first until the job
   fits (which minimises the pod count); the cluster needing fewest pods, then leaving least
   spare capacity, wins; the last pod is the tightest one that holds the remainder.

Across acceptable types the best option of the lowest rule number wins (fewest pods, then least
leftover). Containment (CL-k only on nodes certified >= k, CL-3/4 never beside another project)
is enforced by the view's ``usable`` counts. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pnyx.sched.capacity import NO_FIT
from pnyx.sched.facility import IntArray
from pnyx.sched.jobs import Allocation, JobRequest
from pnyx.sched.records import NATIVE, set_native
from pnyx.sched.views import CapacityView

NODE, POD, PODS = 0, 1, 2
"""Topology tiers of a placement."""


@dataclass(frozen=True, eq=False)
class Placement:
    """An allocation with how it was found: type, tier, pods spanned and spare capacity left."""

    allocation: Allocation
    type_code: int
    tier: int
    pods: int
    leftover: int

    def __init__(
        self, allocation: Allocation, type_code: int, tier: int, pods: int, leftover: int
    ) -> None:
        if NATIVE:
            set_native(
                self,
                allocation=allocation,
                type_code=type_code,
                tier=tier,
                pods=pods,
                leftover=leftover,
            )
            return
        d = self.__dict__  # fast init of a frozen instance (one per placement tried)
        d["allocation"], d["type_code"], d["tier"] = allocation, type_code, tier
        d["pods"], d["leftover"] = pods, leftover


def place(
    view: CapacityView, job: JobRequest, types: tuple[int, ...] | None = None
) -> Placement | None:
    """Where ``job`` can start now in ``view`` (on one of ``types``, default all the job's
    acceptable types), or None. Nothing is changed."""
    types = job.types if types is None else types
    g = job.per_node
    if (job.need == 1) if g else (job.accelerators <= view.fac.max_per_node):  # one node
        if len(types) == 1:  # _in_node inlined: the common case
            t, size = types[0], g or job.accelerators
            best = view.best_node(job, t, size)
            if best is not None:
                node, usable = best
                return Placement(Allocation((node,), (size,)), t, NODE, 1, usable - size)
            if g:
                return None
        else:
            found = [p for t in types if (p := _in_node(view, job, t)) is not None]
            if found or g:
                return min(found, key=lambda p: p.leftover) if found else None
    types = tuple(t for t in types if view.upper_bound(job, t) >= job.need)
    caps = {t: view.pod_capacity(job, t) for t in types}
    found = [p for t in types if (p := _in_pod(view, job, t, caps[t])) is not None]
    if found:
        return min(found, key=lambda p: p.leftover)
    found = [p for t in types if (p := _in_pods(view, job, t, caps[t])) is not None]
    return min(found, key=lambda p: (p.pods, p.leftover)) if found else None


def _in_node(view: CapacityView, job: JobRequest, t: int) -> Placement | None:
    size = job.per_node or job.accelerators
    found = view.best_node(job, t, size)
    if found is None:
        return None
    node, usable = found
    return Placement(Allocation((node,), (size,)), t, NODE, 1, usable - size)


def _in_pod(view: CapacityView, job: JobRequest, t: int, cap: IntArray) -> Placement | None:
    need = job.need
    fits = np.where(cap >= need, cap, NO_FIT)
    pod = int(np.argmin(fits))
    if fits[pod] == NO_FIT:
        return None
    nodes, counts = take_from_pod(view, job, t, pod, need)
    return Placement(Allocation.of(nodes, counts), t, POD, 1, int(cap[pod]) - need)


def take_from_pod(
    view: CapacityView, job: JobRequest, t: int, pod: int, need: int
) -> tuple[list[int], list[int]]:
    """``need`` nodes (gang) or accelerators (packing) from ``pod``, best fit."""
    nodes = view.fac.pod_node_lists[pod]
    usable = view.usable_list(nodes, job, t)
    g = job.per_node
    if g:
        fit = sorted((u, n) for n, u in zip(nodes, usable, strict=True) if u >= g)[:need]
        assert len(fit) == need, "pod capacity and node usability disagree"
        return [n for _, n in fit], [g] * need
    ranked = sorted(((u, n) for n, u in zip(nodes, usable, strict=True) if u > 0), reverse=True)
    chosen, counts, left = [], [], need
    for i, (u, n) in enumerate(ranked):
        if u >= left:
            tight = min((v, m) for v, m in ranked[i:] if v >= left)
            chosen.append(tight[1])
            counts.append(left)
            return chosen, counts
        chosen.append(n)
        counts.append(u)
        left -= u
    raise AssertionError("pod capacity and node usability disagree")


def _in_pods(view: CapacityView, job: JobRequest, t: int, cap: IntArray) -> Placement | None:
    fac, need = view.fac, job.need
    totals = np.bincount(fac.pod_cluster, weights=cap, minlength=fac.n_clusters)
    best: tuple[int, int, IntArray] | None = None
    for c in np.flatnonzero(totals >= need).tolist():
        pods = fac.cluster_pods[c]
        pc = cap[pods]
        order = np.argsort(-pc, kind="stable")
        cum = np.cumsum(pc[order])
        m = int(np.searchsorted(cum, need)) + 1
        key = (m, int(cum[m - 1]) - need)
        if best is None or key < best[:2]:
            best = (*key, _choose_pods(pods[order], pc[order], m, need))
    if best is None:
        return None
    m, left, chosen = best
    return Placement(_fill_pods(view, job, t, chosen, cap), t, PODS, m, left)


def _choose_pods(pods: IntArray, caps: IntArray, m: int, need: int) -> IntArray:
    """The m-1 largest pods, then the tightest remaining pod for the remainder."""
    rest = need - int(caps[: m - 1].sum())
    tail = np.where(caps[m - 1 :] >= rest, caps[m - 1 :], NO_FIT)
    return np.concatenate([pods[: m - 1], pods[m - 1 :][[int(np.argmin(tail))]]])


def _fill_pods(
    view: CapacityView, job: JobRequest, t: int, pods: IntArray, cap: IntArray
) -> Allocation:
    nodes: list[int] = []
    counts: list[int] = []
    left = job.need
    for pod in pods.tolist():
        take = min(left, int(cap[pod]))
        pod_nodes, pod_counts = take_from_pod(view, job, t, pod, take)
        nodes += pod_nodes
        counts += pod_counts
        left -= take
    assert left == 0
    return Allocation.of(nodes, counts)
