"""Preemption planned per member (``by_member``), the entitlement judge and its demand
integral, the checkpoint exit time, the minimum run time and the length priority factor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.sched import (
    Judge,
    PreemptionPolicy,
    PriorityWeights,
    SchedulerConfig,
    SchedulerState,
    UsageTracker,
    execute,
    grid_facility,
    schedule_pass,
)
from pnyx.sched.preemption import entitlement_gap
from pnyx.sched.priority import priorities

from .helpers import assert_state_consistent, job

HOUR = 3_600.0


def member_policy(**changes: object) -> PreemptionPolicy:
    settings: dict[str, object] = {
        "grace_s": 300.0,
        "min_wait_s": 600.0,
        "min_gain_s": 0.0,
        "judge": Judge.ENTITLEMENT,
        "by_member": True,
        "repay_s": 900.0,
        "exit_s": 60.0,
    }
    settings.update(changes)
    return PreemptionPolicy(**settings)  # type: ignore[arg-type]


def busy_state(policy: PreemptionPolicy, started_s: float = 0.0) -> SchedulerState:
    """16 accelerators, equal shares; member 1 runs 16 one-accelerator jobs from
    ``started_s``, alone, for four hours (one half-life)."""
    fac = grid_facility((1,), nodes_per_pod=2, per_node=8)
    config = SchedulerConfig(preemption=policy, half_life_s=4 * HOUR)
    state = SchedulerState(fac, config, shares={(1,): 1.0, (2,): 1.0})
    for i in range(16):
        state.submit(
            job(
                1,
                member=1,
                project=1,
                job_id=100 + i,
                time_limit_s=100 * HOUR,
                submit_s=started_s,
                preemptible=True,
                checkpoint_interval_s=1_800.0,
            )
        )
    assert len(schedule_pass(state, started_s).started) == 16
    return state


def test_usage_tracker_integrates_demand_and_span() -> None:
    h = 1_000.0
    u = UsageTracker(half_life_s=h)
    u.ensure(2)
    u.add_rate(0, 4.0)
    u.set_waiting(np.array([2.0, 3.0]))
    u.advance(h)
    integral = 0.5 / (math.log(2) / h)  # decayed integral of 1 over one half-life
    assert u.span_s == pytest.approx(integral)
    assert u.demand[:2].tolist() == pytest.approx([6.0 * integral, 3.0 * integral])
    assert u.usage[:2].tolist() == pytest.approx([4.0 * integral, 0.0])
    u.set_waiting(np.zeros(1))
    assert u.waiting[:2].tolist() == [0.0, 0.0]


def test_a_member_owed_its_wait_gets_a_plan_for_its_whole_gap() -> None:
    state = busy_state(member_policy())
    for i in range(8):
        state.submit(job(1, member=2, project=2, job_id=200 + i, submit_s=4 * HOUR))
    assert schedule_pass(state, 4 * HOUR).started == []
    now = 4 * HOUR + 600.0
    decisions = schedule_pass(state, now)
    member, share = state.tree.members()
    gap = entitlement_gap(state, member_policy(), member, share.size)
    m1, m2 = member[state.tree.leaf((1, 1, 1, 1))], member[state.tree.leaf((2, 1, 2, 1))]
    assert gap[m2] > 1.0 > 0.0 > gap[m1]  # 8 accelerators waited 600 s: member 2 is owed
    # the member's plan first, then the ordinary one for the top reservation (one victim)
    plan, top = decisions.preemptions
    assert set(plan.victims) <= set(range(100, 116))  # all member 1's
    # as many as member 2's gap asks for, never more than member 1 is above its entitlement
    assert len(plan.victims) == min(math.ceil(gap[m2]), math.floor(-gap[m1]))
    assert plan.requeue_s == now + 60.0  # they checkpoint on the signal and exit
    assert len(top.victims) == 1 and not set(top.victims) & set(plan.victims)
    assert schedule_pass(state, now + 30.0).preemptions == []  # one plan in flight per member
    requeues = execute(state, plan, plan.requeue_s) + execute(state, top, top.requeue_s)
    assert [r.lost_accel_s for r in requeues] == [60.0] * (len(plan.victims) + 1)
    after = schedule_pass(state, plan.requeue_s)
    assert {s.job_id for s in after.started} <= set(range(200, 208))
    assert len(after.started) == len(plan.victims) + 1
    assert_state_consistent(state)


def test_without_an_exit_time_victims_run_the_whole_grace_period() -> None:
    policy = member_policy(exit_s=None)
    state = busy_state(policy)
    for i in range(8):
        state.submit(job(1, member=2, project=2, job_id=200 + i, submit_s=4 * HOUR))
    now = 4 * HOUR + 600.0
    plan = schedule_pass(state, now).preemptions[0]
    assert plan.requeue_s == now + 300.0
    requeues = execute(state, plan, plan.requeue_s)
    assert {r.lost_accel_s for r in requeues} == {300.0}


def test_no_plan_within_the_tolerance_or_before_the_wait() -> None:
    # only the ordinary plan for the top reservation (one victim) is left
    state = busy_state(member_policy(tolerance=0.9))
    for i in range(8):
        state.submit(job(1, member=2, project=2, job_id=200 + i, submit_s=4 * HOUR))
    assert [len(p.victims) for p in schedule_pass(state, 4 * HOUR + 600.0).preemptions] == [1]
    early = busy_state(member_policy())
    early.submit(job(1, member=2, project=2, job_id=200, submit_s=4 * HOUR))
    assert schedule_pass(early, 4 * HOUR + 599.0).preemptions == []


def test_jobs_started_within_min_run_are_not_victims() -> None:
    state = busy_state(member_policy(min_run_s=5 * HOUR))
    for i in range(8):
        state.submit(job(1, member=2, project=2, job_id=200 + i, submit_s=4 * HOUR))
    assert [len(p.victims) for p in schedule_pass(state, 4 * HOUR + 600.0).preemptions] == [1]


def test_allocation_judge_plans_per_member_too() -> None:
    policy = member_policy(judge=Judge.ALLOCATION)
    state = busy_state(policy)
    for i in range(8):
        state.submit(job(1, member=2, project=2, job_id=200 + i, submit_s=4 * HOUR))
    plan = schedule_pass(state, 4 * HOUR + 600.0).preemptions[0]
    assert len(plan.victims) == 8  # running 16 + pending 8 of 16: 8 each


def test_a_gang_that_would_not_fit_gets_no_member_plan() -> None:
    # member 1 holds 8 accelerators on each node; member 2's gang needs a whole node, and
    # its gap (about 5 accelerators) frees only part of one, so no plan is made
    state = busy_state(member_policy())
    state.submit(job(8, per_node=8, member=2, project=2, job_id=300, submit_s=4 * HOUR))
    plans = schedule_pass(state, 4 * HOUR + 600.0).preemptions
    assert all(len(p.victims) >= 8 for p in plans)
    assert_state_consistent(state)


def test_policy_rejects_bad_settings() -> None:
    with pytest.raises(InvalidInputError):
        PreemptionPolicy(tolerance=1.0)
    with pytest.raises(InvalidInputError):
        PreemptionPolicy(exit_s=-1.0)
    with pytest.raises(InvalidInputError):
        PriorityWeights(length=-1.0)


def test_length_factor_puts_longer_jobs_first_among_equals() -> None:
    w = PriorityWeights(fair_share=0.0, age=0.0, size=0.0, length=1_000.0, max_age_s=100.0)
    p = priorities(
        w,
        np.zeros(3),
        np.zeros(3),
        np.ones(3, dtype=np.int64),
        0.0,
        10,
        np.array([10.0, 50.0, 500.0]),
    )
    assert p.tolist() == pytest.approx([100.0, 500.0, 1_000.0])
    without = priorities(w, np.zeros(3), np.zeros(3), np.ones(3, dtype=np.int64), 0.0, 10)
    assert without.tolist() == [0.0, 0.0, 0.0]
