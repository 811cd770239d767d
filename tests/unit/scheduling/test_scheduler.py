"""Scheduling passes: invariants through random histories, EASY backfill, failures, fair share."""

from __future__ import annotations

import heapq
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.errors import ConflictError
from pnyx.sched import (
    CapacityIndex,
    Facility,
    JobRequest,
    PreemptionPlan,
    PreemptionPolicy,
    PriorityWeights,
    SchedulerConfig,
    SchedulerState,
    execute,
    grid_facility,
    place,
    schedule_pass,
)

from .helpers import assert_state_consistent, job, two_clusters

FIFO = PriorityWeights(fair_share=0.0, age=0.0, size=0.0)
"""Priority by submission time, then id: a static order for the reservation tests."""

JOBS = st.builds(
    lambda size, gang, types, level, project, limit: job(
        size * (4 if gang else 1),
        per_node=4 if gang else None,
        types=types,
        containment=level,
        project=project,
        member=project % 2,
        time_limit_s=float(limit),
        preemptible=project != 1,
        checkpoint_interval_s=7.0 if project == 2 else None,
    ),
    st.integers(1, 10),
    st.booleans(),
    st.sampled_from([(0,), (1,), (0, 1)]),
    st.sampled_from([1, 1, 2, 3, 4]),
    st.integers(0, 3),
    st.integers(1, 50),
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), JOBS),
        st.tuples(st.just("pass"), st.integers(0, 20)),
        st.tuples(st.just("end"), st.integers(0, 100)),
        st.tuples(st.just("fail"), st.integers(0, 19)),
        st.tuples(st.just("restore"), st.integers(0, 19)),
        st.tuples(st.just("preempt"), st.integers(0, 3)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(OPS, st.integers(0, 3))
def test_random_histories_never_break_the_rules(
    ops: list[tuple[str, Any]], reservations: int
) -> None:
    """Through any submit / pass / end / node-failure sequence: never over-allocated, gangs
    whole, containment and exclusivity respected, aggregates exact, holds gone after a pass."""
    policy = PreemptionPolicy(grace_s=5.0, min_wait_s=0.0, min_gain_s=0.0)
    config = SchedulerConfig(reservations=reservations, preemption=policy)
    state = SchedulerState(two_clusters(), config, shares={(0,): 1.0, (1,): 3.0})
    plans: list[PreemptionPlan] = []
    now = 0.0
    for op, arg in ops:
        if op == "submit":
            state.submit(arg)
        elif op == "pass":
            now += arg
            before = set(state.pending._slot_of)
            decisions = schedule_pass(state, now)
            started = {s.job_id for s in decisions.started}
            assert started <= before
            assert not started & set(state.pending._slot_of)
            assert all(r.job_id in state.pending for r in decisions.reservations)
            assert len(decisions.reservations) <= reservations
            plans += decisions.preemptions
        elif op == "preempt" and plans:
            plan = plans.pop(arg % len(plans))
            for item in execute(state, plan, max(now, plan.requeue_s)):
                assert item.job.job_id in state.pending
            now = max(now, plan.requeue_s)
        elif op == "end" and state.running.jobs:
            ids = sorted(state.running.jobs)
            state.release(ids[arg % len(ids)], now)
        elif op == "fail":
            lost = state.fail_node(arg, now)
            assert all(r.job.job_id in state.pending for r in lost)
        elif op == "restore":
            state.restore_node(arg)
        assert_state_consistent(state)
        assert sum(state.index.held) == 0


def simulate(
    state: SchedulerState, limit_passes: int = 500
) -> tuple[dict[int, float], dict[int, float], set[int]]:
    """Run to completion with exact runtimes (= time limits), a pass at every end time.

    Returns each job's start time; for every job that was ever the top reservation of a
    pass, the shadow time it got the first time it was; the jobs that can never fit.
    """
    never: set[int] = set()
    starts: dict[int, float] = {}
    promised: dict[int, float] = {}
    ends: list[tuple[float, int]] = []
    now = 0.0
    for _ in range(limit_passes):
        decisions = schedule_pass(state, now)
        never |= set(decisions.never_fits)
        for s in decisions.started:
            starts[s.job_id] = now
            heapq.heappush(ends, (now + state.running.jobs[s.job_id].job.time_limit_s, s.job_id))
        if decisions.reservations:
            top = decisions.reservations[0]
            assert top.shadow_s >= now
            promised.setdefault(top.job_id, top.shadow_s)
        assert_state_consistent(state)
        if not ends:
            break
        now = ends[0][0]
        while ends and ends[0][0] == now:
            state.release(heapq.heappop(ends)[1], now)
    return starts, promised, never


def tight() -> Facility:
    """Two clusters of 2 pods x 2 nodes x 4 accelerators; pod 1 certified CL-3, pod 3 CL-4."""
    return grid_facility((2, 2), nodes_per_pod=2, per_node=4, levels=(2, 3, 2, 4))


TIGHT_JOBS = st.builds(
    lambda size, gang, types, level, project, limit: job(
        size * (2 if gang else 1),
        per_node=2 if gang else None,
        types=types,
        containment=level,
        project=project,
        member=project % 2,
        time_limit_s=float(limit),
    ),
    st.integers(1, 8),
    st.booleans(),
    st.sampled_from([(0,), (1,), (0, 1)]),
    st.sampled_from([1, 1, 1, 2, 3, 4]),
    st.integers(0, 3),
    st.sampled_from([1, 2, 3, 5, 8, 13, 40, 100]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(TIGHT_JOBS, min_size=1, max_size=30), st.integers(1, 3))
def test_backfill_never_delays_a_reservation(jobs: list[JobRequest], reservations: int) -> None:
    """With exact runtimes, every job that got the top reservation starts no later than the
    shadow time it was promised then, whatever was backfilled around it."""
    state = SchedulerState(tight(), SchedulerConfig(weights=FIFO, reservations=reservations))
    for j in jobs:
        state.submit(j)
    starts, promised, never = simulate(state)
    assert set(starts) | never == {j.job_id for j in jobs}
    assert not set(starts) & never
    empty = CapacityIndex(tight())
    assert never == {j.job_id for j in jobs if place(empty, j) is None}
    for job_id, shadow in promised.items():
        assert starts[job_id] <= shadow, f"job {job_id} promised {shadow}, started later"


def test_short_job_backfills_into_held_capacity_long_job_does_not() -> None:
    fac = grid_facility((1,), nodes_per_pod=4, per_node=8)
    state = SchedulerState(fac, SchedulerConfig(weights=FIFO))
    state.submit(job(24, per_node=8, time_limit_s=100.0, job_id=1))
    assert [s.job_id for s in schedule_pass(state, 0.0).started] == [1]
    state.submit(job(32, per_node=8, submit_s=1.0, job_id=2))
    state.submit(job(8, time_limit_s=500.0, submit_s=2.0, job_id=3))
    state.submit(job(8, time_limit_s=90.0, submit_s=3.0, job_id=4))
    decisions = schedule_pass(state, 10.0)
    assert [s.job_id for s in decisions.started] == [4]
    assert decisions.started[0].backfilled
    assert [(r.job_id, r.shadow_s) for r in decisions.reservations] == [(2, 100.0)]
    assert 3 in state.pending


def test_long_job_backfills_beside_the_reservation() -> None:
    fac = grid_facility((1,), nodes_per_pod=4, per_node=8)
    state = SchedulerState(fac, SchedulerConfig(weights=FIFO))
    state.submit(job(16, per_node=8, time_limit_s=100.0, job_id=1))
    schedule_pass(state, 0.0)
    state.submit(job(24, per_node=8, submit_s=1.0, job_id=2))
    state.submit(job(8, time_limit_s=500.0, submit_s=2.0, job_id=3))
    decisions = schedule_pass(state, 10.0)
    # 16 free now, 24 needed at t=100 of which 16 come back: 8 may run past the shadow time.
    assert [s.job_id for s in decisions.started] == [3]
    assert decisions.reservations[0].shadow_s == 100.0


def test_job_larger_than_the_facility_never_fits_and_reserves_nothing() -> None:
    state = SchedulerState(two_clusters(), SchedulerConfig(weights=FIFO))
    state.submit(job(400, job_id=1))
    state.submit(job(8, job_id=2, submit_s=1.0))
    decisions = schedule_pass(state, 0.0)
    assert decisions.never_fits == [1]
    assert decisions.reservations == []
    assert [s.job_id for s in decisions.started] == [2]


def test_node_failure_requeues_from_the_last_checkpoint() -> None:
    state = SchedulerState(two_clusters(), SchedulerConfig(weights=FIFO))
    state.submit(job(16, per_node=8, time_limit_s=1000.0, checkpoint_interval_s=30.0, job_id=1))
    state.submit(job(4, time_limit_s=1000.0, job_id=2, submit_s=1.0))
    started = {s.job_id: s for s in schedule_pass(state, 0.0).started}
    node = started[1].allocation.nodes[0]
    out = state.fail_node(node, 100.0)
    assert [r.job.job_id for r in out] == [1]
    assert out[0].kept_s == 90.0
    assert out[0].lost_accel_s == 10.0 * 16
    assert out[0].job.time_limit_s == 910.0
    assert 1 in state.pending and 2 in state.running.jobs
    assert not state.index.up[node]
    redo = schedule_pass(state, 100.0)
    assert [s.job_id for s in redo.started] == [1]
    assert node not in redo.started[0].allocation.nodes
    assert_state_consistent(state)


def test_failure_without_checkpoint_loses_everything_run() -> None:
    state = SchedulerState(two_clusters())
    state.submit(job(3, time_limit_s=1000.0, job_id=1))
    node = schedule_pass(state, 0.0).started[0].allocation.nodes[0]
    (item,) = state.fail_node(node, 250.0)
    assert (item.kept_s, item.lost_accel_s, item.job.time_limit_s) == (0.0, 750.0, 1000.0)


def test_under_served_member_goes_first() -> None:
    fac = grid_facility((1,), nodes_per_pod=1, per_node=8)
    state = SchedulerState(fac, shares={(1,): 1.0, (2,): 1.0})
    state.submit(job(8, member=1, time_limit_s=50.0, job_id=1))
    schedule_pass(state, 0.0)
    state.release(1, 50.0)
    state.submit(job(8, member=1, submit_s=60.0, job_id=2))
    state.submit(job(8, member=2, submit_s=70.0, job_id=3))
    decisions = schedule_pass(state, 80.0)
    assert [s.job_id for s in decisions.started] == [3]


def test_state_rejects_duplicates_and_unknown_jobs() -> None:
    state = SchedulerState(two_clusters())
    state.submit(job(1, job_id=5))
    with pytest.raises(ConflictError):
        state.submit(job(1, job_id=5))
    schedule_pass(state, 0.0)
    with pytest.raises(ConflictError):
        state.submit(job(1, job_id=5))
    with pytest.raises(Exception, match="not running"):
        state.release(99, 1.0)


def test_project_cannot_backfill_its_own_exclusive_node_planned_for_another() -> None:
    # Node 0 is exclusive to project 1 (a CL-3 job) until t=50, when project 3's gang needs it.
    # A long job of project 1 would keep node 0 exclusive past t=50: it must not start there.
    fac = grid_facility((1,), nodes_per_pod=2, per_node=4, levels=(3,))
    state = SchedulerState(fac, SchedulerConfig(weights=FIFO))
    state.submit(job(2, containment=3, project=1, time_limit_s=50.0, job_id=1))
    state.submit(job(4, project=2, time_limit_s=50.0, job_id=2, submit_s=0.5))
    assert len(schedule_pass(state, 0.0).started) == 2
    assert state.index.owner[0] == 1
    state.submit(job(4, per_node=2, project=3, job_id=3, submit_s=1.0))
    state.submit(job(2, project=1, time_limit_s=1000.0, job_id=4, submit_s=2.0))
    decisions = schedule_pass(state, 10.0)
    assert decisions.started == []
    assert [(r.job_id, r.shadow_s) for r in decisions.reservations] == [(3, 50.0)]
    state.release(1, 50.0)
    state.release(2, 50.0)
    assert [s.job_id for s in schedule_pass(state, 50.0).started] == [3, 4]
