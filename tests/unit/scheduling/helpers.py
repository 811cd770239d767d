"""Small facilities, job factories and invariant checks shared by the scheduler tests."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from pnyx.sched import Facility, JobRequest, SchedulerState
from pnyx.sched.capacity import FREE_OWNER, LEVELS, CapacityIndex
from pnyx.sched.facility import MAX_LEVEL

_ids = itertools.count(1)


def job(
    accelerators: int,
    per_node: int | None = None,
    types: tuple[int, ...] = (0,),
    containment: int = 1,
    time_limit_s: float = 100.0,
    submit_s: float = 0.0,
    project: int = 1,
    member: int = 1,
    programme: int = 1,
    user: int = 1,
    job_id: int | None = None,
    checkpoint_interval_s: float | None = None,
    preemptible: bool = False,
) -> JobRequest:
    """A job with defaults for everything but its size."""
    return JobRequest(
        job_id=next(_ids) if job_id is None else job_id,
        project=project,
        member=member,
        programme=programme,
        user=user,
        accelerators=accelerators,
        per_node=per_node,
        types=types,
        containment=containment,
        time_limit_s=time_limit_s,
        submit_s=submit_s,
        preemptible=preemptible,
        checkpoint_interval_s=checkpoint_interval_s,
    )


def two_clusters() -> Facility:
    """Cluster 0: pods 0-2 of type 0 (pod 2 certified CL-3); cluster 1: pods 3-4 of type 1.

    Every pod has 4 nodes of 8 accelerators (160 accelerators in all).
    """
    pod_type = [0, 0, 0, 1, 1]
    pod_level = [2, 2, 3, 2, 4]
    pod_cluster = [0, 0, 0, 1, 1]
    pod = np.repeat(np.arange(5), 4)
    return Facility.from_arrays(
        total=np.full(pod.size, 8),
        type_code=np.asarray(pod_type)[pod],
        pod=pod,
        cluster=np.asarray(pod_cluster)[pod],
        containment=np.asarray(pod_level)[pod],
    )


def assert_index_consistent(ix: CapacityIndex) -> None:
    """The incremental aggregates equal a recomputation from the node lists."""
    fac = ix.fac
    ix._flush()
    hist = np.zeros_like(ix.hist)
    idle_hist = np.zeros_like(ix.idle_hist)
    g_free = np.zeros_like(ix.g_free)
    g_idle = np.zeros_like(ix.g_idle)
    members: dict[int, set[int]] = defaultdict(set)
    room: dict[int, int] = defaultdict(int)
    for n in range(fac.n_nodes):
        f = ix.free[n]
        assert f >= 0 and ix.held[n] >= 0, f"node {n}: negative free or held"
        assert f + ix.held[n] <= int(fac.total[n]), f"node {n}: free + held exceed its total"
        if ix.up[n] and ix.owner[n] != FREE_OWNER:
            room[ix.owner[n]] += f + ix.held[n]
        if not ix.up[n] or ix.owner[n] != FREE_OWNER:
            continue
        c, t = ix.level[n], int(fac.type_code[n])
        group = ix._slot[n] + (MAX_LEVEL - c) * ix._stride[n]
        idle = f == int(fac.total[n])
        hist[f, group] += 1
        g_free[group] += f
        if idle:
            idle_hist[f, group] += 1
            g_idle[group] += f
        members[ix.buckets.key(t, c, f, idle)].add(n)
    assert ix.owned_room == {p: r for p, r in room.items() if r}
    assert np.array_equal(hist, ix.hist)
    assert np.array_equal(idle_hist, ix.idle_hist)
    assert np.array_equal(g_free, ix.g_free)
    assert np.array_equal(g_idle, ix.g_idle)
    for key, nodes in enumerate(ix.buckets.members):
        assert nodes == members.get(key, set()), f"bucket {key} differs"
        if nodes:
            assert ix.buckets.first(key) == min(nodes)
    for t in range(fac.n_types):
        for c in range(LEVELS):
            row = t * LEVELS + c
            expect = [
                len(members.get(ix.buckets.key(t, c, f, False), ()))
                + len(members.get(ix.buckets.key(t, c, f, True), ()))
                for f in range(fac.max_per_node + 1)
            ]
            assert ix._tc_nodes[row] == expect


def assert_state_consistent(state: SchedulerState) -> None:
    """No over-allocation, gangs whole, containment and exclusivity respected."""
    ix, fac = state.index, state.fac
    assert_index_consistent(ix)
    used = np.zeros(fac.n_nodes, dtype=np.int64)
    projects: dict[int, set[int]] = defaultdict(set)
    exclusive: dict[int, set[int]] = defaultdict(set)
    for run in state.running.jobs.values():
        j, alloc = run.job, run.allocation
        nodes, counts = list(alloc.nodes), list(alloc.counts)
        assert len(set(nodes)) == len(nodes), f"job {j.job_id}: a node appears twice"
        assert min(counts) >= 1
        assert sum(counts) == j.accelerators, f"job {j.job_id}: gang not whole"
        if j.per_node:
            assert counts == [j.per_node] * j.need, f"job {j.job_id}: wrong gang shape"
        assert {int(fac.type_code[n]) for n in nodes} == {run.type_code}
        assert run.type_code in j.types
        for n, c in zip(nodes, counts, strict=True):
            assert ix.up[n], f"job {j.job_id} runs on down node {n}"
            assert ix.level[n] >= j.containment, f"job {j.job_id}: node {n} not certified"
            used[n] += c
            projects[n].add(j.project)
            if j.exclusive:
                exclusive[n].add(j.project)
    for n in range(fac.n_nodes):
        assert used[n] + ix.free[n] + ix.held[n] == int(fac.total[n]) or not ix.up[n], (
            f"node {n}: used {used[n]} + free {ix.free[n]} != total"
        )
        assert used[n] <= int(fac.total[n]), f"node {n} over-allocated"
        if exclusive[n]:
            assert projects[n] == exclusive[n], f"node {n}: exclusive job shares with others"
            assert ix.owner[n] in exclusive[n]
