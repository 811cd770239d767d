"""Preemption judged by allocation (weighted max-min among members with demand), and
several plans per pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pnyx.errors import InvalidInputError
from pnyx.sched import (
    Judge,
    PreemptionPolicy,
    SchedulerConfig,
    SchedulerState,
    grid_facility,
    schedule_pass,
)
from pnyx.sched.preemption import member_service

from .helpers import job


def state_with(policy: PreemptionPolicy, reservations: int = 1) -> SchedulerState:
    """Two nodes of 8; shares member 1: 1, member 2: 1, member 3: 2 (3 never submits)."""
    fac = grid_facility((1,), nodes_per_pod=2, per_node=8)
    config = SchedulerConfig(preemption=policy, reservations=reservations)
    return SchedulerState(fac, config, shares={(1,): 1.0, (2,): 1.0, (3,): 2.0})


def test_allocation_judge_compares_running_with_max_min_share_of_the_active() -> None:
    state = state_with(PreemptionPolicy(judge=Judge.ALLOCATION))
    for i in range(4):  # member 1 runs 4 x 4 = 16
        state.submit(job(4, member=1, project=1, job_id=10 + i, time_limit_s=1e4))
    schedule_pass(state, 0.0)
    state.submit(job(8, member=2, project=2, job_id=20))
    ratio = member_service(state, Judge.ALLOCATION)
    leaf1, leaf2 = state.tree.leaf((1, 1, 1, 1)), state.tree.leaf((2, 1, 2, 1))
    # members 1 and 2 want 16 and 8 of 16: equal weights give 8 each (member 3 wants none)
    assert ratio[leaf1] == pytest.approx(8 / 16)
    assert math.isinf(ratio[leaf2])
    # the usage judge sees member 2 (no usage yet) as under-served too, but by Level Fairshare
    assert member_service(state, Judge.USAGE)[leaf2] == np.inf


def test_allocation_judge_plans_the_fewest_victims_for_the_under_served() -> None:
    policy = PreemptionPolicy(judge=Judge.ALLOCATION, min_wait_s=0.0, min_gain_s=0.0)
    state = state_with(policy)
    for i in range(4):
        state.submit(job(4, member=1, project=1, job_id=10 + i, time_limit_s=1e4, preemptible=True))
    schedule_pass(state, 0.0)
    state.submit(job(8, member=2, project=2, job_id=20, submit_s=1.0))
    plans = schedule_pass(state, 10.0).preemptions
    assert len(plans) == 1 and len(plans[0].victims) == 2  # 8 accelerators, no more


def test_several_plans_per_pass() -> None:
    policy = PreemptionPolicy(min_wait_s=0.0, min_gain_s=0.0, plans_per_pass=2)
    state = state_with(policy, reservations=2)
    for i in range(2):
        state.submit(job(8, member=1, project=1, job_id=10 + i, time_limit_s=1e4, preemptible=True))
    schedule_pass(state, 0.0)
    state.submit(job(8, member=2, project=2, job_id=20, submit_s=1.0))
    state.submit(job(8, member=3, project=3, job_id=30, submit_s=1.0))
    plans = schedule_pass(state, 10.0).preemptions
    assert sorted(p.job_id for p in plans) == [20, 30]
    assert {v for p in plans for v in p.victims} == {10, 11}


def test_plans_per_pass_must_be_positive() -> None:
    with pytest.raises(InvalidInputError):
        PreemptionPolicy(plans_per_pass=0)


def test_attained_judge_preempts_the_most_served_jobs_of_any_member() -> None:
    policy = PreemptionPolicy(
        judge=Judge.ATTAINED, min_wait_s=0.0, min_gain_s=0.0, attained_threshold_accel_s=800.0
    )
    state = state_with(policy)
    state.submit(job(8, member=1, project=1, job_id=10, time_limit_s=1e4, preemptible=True))
    schedule_pass(state, 0.0)
    state.submit(job(8, member=1, project=1, job_id=11, time_limit_s=1e4, preemptible=True))
    schedule_pass(state, 50.0)  # job 10 has 8 x 100 = 800 at t=100, job 11 only 400
    state.submit(job(8, member=1, project=1, job_id=12, submit_s=90.0))  # same member
    plans = schedule_pass(state, 100.0).preemptions
    assert [p.victims for p in plans] == [(10,)]
