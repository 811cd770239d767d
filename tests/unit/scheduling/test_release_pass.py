"""Release passes: jobs start on capacity freed between two full passes, and no reservation
that the full pass made is pushed later by them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.sched import (
    Carry,
    JobRequest,
    Judge,
    PreemptionPolicy,
    PriorityWeights,
    SchedulerConfig,
    SchedulerState,
    grid_facility,
    release_pass,
    schedule_pass,
)
from pnyx.sched.backfill import Forecast, plan_reservation

from .helpers import assert_state_consistent, job
from .test_scheduler import TIGHT_JOBS, tight

FIFO = PriorityWeights(fair_share=0.0, age=0.0, size=0.0)


def one_node_pair() -> SchedulerState:
    """Two nodes of 4 accelerators, one type; FIFO order, EASY backfill, release backfill."""
    fac = grid_facility((1,), nodes_per_pod=2, per_node=4)
    return SchedulerState(fac, SchedulerConfig(weights=FIFO, release_backfill=True))


def carry_of(state: SchedulerState, now: float) -> Carry:
    decisions = schedule_pass(state, now)
    assert decisions.carry is not None
    return decisions.carry


def test_released_capacity_goes_to_the_next_job_in_the_carried_order() -> None:
    state = one_node_pair()
    first, second = job(4, time_limit_s=100.0), job(4, time_limit_s=100.0)
    waiting = job(4, time_limit_s=50.0)
    for j in (first, second, waiting):
        state.submit(j)
    carry = carry_of(state, 0.0)
    assert set(state.running.jobs) == {first.job_id, second.job_id}
    state.release(first.job_id, 30.0)
    decisions = release_pass(state, 30.0, carry)
    assert [s.job_id for s in decisions.started] == [waiting.job_id]
    assert decisions.carry is None and not decisions.preemptions and not decisions.reservations
    assert_state_consistent(state)
    assert sum(state.index.held) == 0


def test_jobs_queued_after_the_full_pass_wait_for_the_next_one() -> None:
    state = one_node_pair()
    running = job(8, per_node=4, time_limit_s=100.0)
    state.submit(running)
    carry = carry_of(state, 0.0)
    late = job(1, submit_s=10.0)
    state.submit(late)
    state.release(running.job_id, 20.0)
    assert release_pass(state, 20.0, carry).started == []
    assert [s.job_id for s in schedule_pass(state, 60.0).started] == [late.job_id]


def blocked_head(*extra: JobRequest) -> tuple[SchedulerState, Carry, JobRequest, JobRequest]:
    """Node 0 runs a long job, node 1 a short one; the head wants both nodes whole (its shadow
    time is the long job's end, 1,000 s); a small job that would outlive it waits behind,
    then ``extra``. Then the short job ends early, at 40 s."""
    state = one_node_pair()
    long_, short = job(4, time_limit_s=1_000.0), job(4, time_limit_s=100.0)
    head, small = job(8, per_node=4, time_limit_s=50.0), job(2, time_limit_s=5_000.0)
    for j in (long_, short, head, small, *extra):
        state.submit(j)
    carry = carry_of(state, 0.0)
    assert [(r.job_id, r.shadow_s) for r in carry.reservations] == [(head.job_id, 1_000.0)]
    state.release(short.job_id, 40.0)
    return state, carry, head, small


def test_a_reservation_keeps_its_plan_nodes_against_jobs_that_outlive_it() -> None:
    state, carry, head, small = blocked_head()
    # node 1 is free and in the head's plan; the small job would outlive the shadow time
    assert release_pass(state, 40.0, carry).started == []
    assert head.job_id in state.pending and small.job_id in state.pending
    assert sum(state.index.held) == 0


def test_a_job_ending_before_the_shadow_time_uses_the_held_capacity() -> None:
    brief = job(2, time_limit_s=100.0, submit_s=1.0)  # after the others in FIFO order
    state, carry, head, small = blocked_head(brief)
    started = release_pass(state, 40.0, carry).started
    assert [s.job_id for s in started] == [brief.job_id]
    assert started[0].backfilled
    assert head.job_id in state.pending and small.job_id in state.pending


def test_strict_release_passes_stop_at_the_first_blocked_job() -> None:
    """Without release backfill (Slurm's event-triggered main scheduler) the small job does
    not pass the blocked head, even on a node the head's plan does not use."""
    fac = grid_facility((1,), nodes_per_pod=3, per_node=4)
    for backfill in (False, True):
        state = SchedulerState(fac, SchedulerConfig(weights=FIFO, release_backfill=backfill))
        full = [job(4, time_limit_s=1_000.0) for _ in range(3)]
        head, small = job(8, per_node=4, time_limit_s=50.0), job(2, time_limit_s=5_000.0)
        for j in (*full, head, small):
            state.submit(j)
        carry = carry_of(state, 0.0)
        plan = set(carry.reservations[0].allocation.nodes)
        (outside,) = [
            j.job_id for j in full if state.running.jobs[j.job_id].allocation.nodes[0] not in plan
        ]
        state.release(outside, 10.0)
        started = [s.job_id for s in release_pass(state, 10.0, carry).started]
        assert started == ([small.job_id] if backfill else [])
        assert_state_consistent(state)


def test_a_plan_node_down_stops_the_release_pass() -> None:
    state, carry, _, _ = blocked_head()
    node = carry.reservations[0].allocation.nodes[0]
    state.fail_node(node, 40.0)
    decisions = release_pass(state, 40.0, carry)
    assert decisions.started == []


def top_shadow_now(state: SchedulerState, carry: Carry, now: float) -> dict[int, float]:
    """The top carried reservation, while its job is pending: its earliest start under the
    time-limit forecast now. Only the top one is guaranteed (docs/scheduler.md, "Limits"):
    later ones are planned around earlier plans, which move once their job starts."""
    top = carry.reservations[0] if carry.reservations else None
    if top is None or top.job_id not in state.pending:
        return {}
    j = state.pending.job(state.pending.slot_of(top.job_id))
    planned = plan_reservation(Forecast(state.index, state.running, now), j, [])
    assert planned is not None
    return {top.job_id: planned[0].shadow_s}


ENDS = st.lists(st.tuples(st.integers(0, 1_000), st.integers(1, 20)), max_size=25)


@settings(max_examples=200, deadline=None)
@given(st.lists(TIGHT_JOBS, min_size=1, max_size=30), st.integers(1, 3), ENDS, st.booleans())
def test_release_passes_never_delay_a_carried_reservation(
    jobs: list[JobRequest], reservations: int, ends: list[tuple[int, int]], backfill: bool
) -> None:
    """After a full pass, running jobs end early one by one (the clock never passing a running
    job's time limit) and each end gets a release pass: the top reservation carried from the
    full pass can still start by the shadow time it was given (or now, once that is past),
    under the same time-limit forecast; the state keeps every rule and no hold outlives a pass."""
    config = SchedulerConfig(weights=FIFO, reservations=reservations, release_backfill=backfill)
    state = SchedulerState(tight(), config)
    for j in jobs:
        state.submit(j)
    carry = carry_of(state, 0.0)
    promised = {r.job_id: r.shadow_s for r in carry.reservations}
    now = 0.0
    for pick, step in ends:
        if not state.running.jobs:
            break
        run = state.running.jobs[sorted(state.running.jobs)[pick % len(state.running.jobs)]]
        # the clock never passes a running job's time limit: every end is early or on time
        now = min(now + step, min(r.expected_end_s for r in state.running.jobs.values()))
        state.release(run.job.job_id, now)
        before = set(state.pending._slot_of)
        decisions = release_pass(state, now, carry)
        started = {s.job_id for s in decisions.started}
        assert started <= before
        assert_state_consistent(state)
        assert sum(state.index.held) == 0
        for job_id, shadow in top_shadow_now(state, carry, now).items():
            # a shadow time already past can only be "now" (a forecast never starts earlier)
            due = max(promised[job_id], now)
            assert shadow <= due, f"job {job_id}: {shadow} > {due}"


def test_no_job_of_a_better_served_member_overtakes_a_blocked_one_between_passes() -> None:
    """Member 2 runs everything, member 1 waits with a two-node gang. A node frees between
    passes: member 2's small job does not take it ahead of member 1's gang (no reservation
    holds it here), member 1's own small job does; at the next full pass everyone backfills."""
    config = SchedulerConfig(reservations=0, release_backfill=True, release_bar=True)
    state, theirs, mine, carry = overtaking(config)
    started = [s.job_id for s in release_pass(state, 70.0, carry).started]
    assert started == [mine.job_id]
    assert theirs.job_id in [s.job_id for s in schedule_pass(state, 120.0).started]


@pytest.mark.parametrize(("tolerance", "overtakes"), [(0.0, False), (0.99, True)])
def test_with_the_entitlement_judge_only_an_owed_members_blocked_job_raises_the_bar(
    tolerance: float, overtakes: bool
) -> None:
    """Member 1 is owed capacity by the entitlement judge unless the tolerance hides it; only
    then does its blocked gang keep member 2's small job out of a release pass."""
    never = PreemptionPolicy(
        min_wait_s=1e9, min_gain_s=1e9, judge=Judge.ENTITLEMENT, tolerance=tolerance
    )
    config = SchedulerConfig(
        reservations=0, release_backfill=True, release_bar=True, preemption=never
    )
    state, theirs, mine, carry = overtaking(config)
    assert carry.owed is not None and bool(carry.owed[0]) is not overtakes
    started = [s.job_id for s in release_pass(state, 70.0, carry).started]
    assert started == ([mine.job_id, theirs.job_id] if overtakes else [mine.job_id])


def overtaking(
    config: SchedulerConfig,
) -> tuple[SchedulerState, JobRequest, JobRequest, Carry]:
    """Three nodes busy with member 2's jobs; member 1's gang and small job and member 2's
    small job queued, ranked by two full passes (member 1's gang first); then a node frees.
    Returns member 2's and member 1's small jobs and the carry."""
    fac = grid_facility((1,), nodes_per_pod=3, per_node=4)
    state = SchedulerState(fac, config, shares={(1,): 1.0, (2,): 1.0})
    busy = [job(4, time_limit_s=1_000.0, member=2, project=2) for _ in range(3)]
    for j in busy:
        state.submit(j)
    schedule_pass(state, 0.0)
    gang = job(8, per_node=4, member=1, project=1, submit_s=10.0)
    theirs = job(2, member=2, project=2, submit_s=10.0)
    mine = job(1, member=1, project=1, submit_s=20.0)
    for j in (gang, theirs, mine):
        state.submit(j)
    schedule_pass(state, 30.0)  # member 1's demand starts to count
    carry = carry_of(state, 60.0)
    assert carry.job_ids.tolist()[0] == gang.job_id  # member 1 is under-served
    state.release(busy[0].job_id, 70.0)
    return state, theirs, mine, carry


def test_the_walked_part_of_the_carried_order_drops_jobs_no_longer_pending() -> None:
    state = one_node_pair()
    running = [job(4, time_limit_s=100.0) for _ in range(2)]
    waiting = [job(1, time_limit_s=500.0) for _ in range(6)]
    for j in (*running, *waiting):
        state.submit(j)
    carry = carry_of(state, 0.0)
    assert len(carry.job_ids) == 8
    state.release(running[0].job_id, 10.0)
    started = release_pass(state, 10.0, carry).started
    assert [s.job_id for s in started] == [j.job_id for j in waiting[:4]]
    assert carry.job_ids.tolist() == [j.job_id for j in waiting[4:]]
