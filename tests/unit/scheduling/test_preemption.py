"""Preemption: over-served members' preemptible jobs make room for an under-served one."""

from __future__ import annotations

from pnyx.sched import (
    PreemptionPolicy,
    SchedulerConfig,
    SchedulerState,
    execute,
    grid_facility,
    schedule_pass,
)

from .helpers import assert_state_consistent, job

POLICY = PreemptionPolicy(grace_s=300.0, min_wait_s=0.0, min_gain_s=600.0)


def busy_facility(preemptible: bool = True, checkpoint_s: float | None = 700.0) -> SchedulerState:
    """Member 1 fills both nodes from t=0 with one long job; shares are equal."""
    fac = grid_facility((1,), nodes_per_pod=2, per_node=8)
    config = SchedulerConfig(preemption=POLICY)
    state = SchedulerState(fac, config, shares={(1,): 1.0, (2,): 1.0})
    state.submit(
        job(
            16,
            per_node=8,
            member=1,
            project=1,
            time_limit_s=10_000.0,
            job_id=1,
            preemptible=preemptible,
            checkpoint_interval_s=checkpoint_s,
        )
    )
    assert [s.job_id for s in schedule_pass(state, 0.0).started] == [1]
    return state


def test_over_served_job_is_preempted_after_the_grace_period() -> None:
    state = busy_facility()
    state.submit(job(8, member=2, project=2, submit_s=1000.0, job_id=2))
    decisions = schedule_pass(state, 1000.0)
    assert decisions.started == []
    (plan,) = decisions.preemptions
    assert (plan.job_id, plan.victims, plan.requeue_s) == (2, (1,), 1300.0)
    assert schedule_pass(state, 1100.0).preemptions == []  # no second plan meanwhile
    (requeue,) = execute(state, plan, 1300.0)
    assert requeue.kept_s == 1000.0  # the checkpoint on the signal, later than the one at 700
    assert requeue.lost_accel_s == 300.0 * 16
    assert requeue.job.time_limit_s == 9000.0
    assert state.counters.preemptions == 1
    assert state.counters.preempted_lost_accel_s == 4800.0
    after = schedule_pass(state, 1300.0)
    assert [s.job_id for s in after.started] == [2]
    assert 1 in state.pending
    assert_state_consistent(state)


def test_not_preemptible_or_own_member_is_never_a_victim() -> None:
    state = busy_facility(preemptible=False)
    state.submit(job(8, member=2, project=2, submit_s=1000.0, job_id=2))
    assert schedule_pass(state, 1000.0).preemptions == []
    same = busy_facility()
    same.submit(job(8, member=1, project=3, submit_s=1000.0, job_id=2))
    assert schedule_pass(same, 1000.0).preemptions == []


def test_no_preemption_when_the_wait_is_short() -> None:
    state = busy_facility()
    state.submit(job(8, member=2, project=2, submit_s=9500.0, job_id=2))
    assert schedule_pass(state, 9500.0).preemptions == []


def test_without_checkpoints_all_work_is_lost() -> None:
    state = busy_facility(checkpoint_s=None)
    state.submit(job(8, member=2, project=2, submit_s=1000.0, job_id=2))
    (plan,) = schedule_pass(state, 1000.0).preemptions
    (requeue,) = execute(state, plan, 1300.0)
    assert (requeue.kept_s, requeue.lost_accel_s) == (0.0, 1300.0 * 16)


def test_victim_that_ended_meanwhile_is_not_requeued() -> None:
    state = busy_facility()
    state.submit(job(8, member=2, project=2, submit_s=1000.0, job_id=2))
    (plan,) = schedule_pass(state, 1000.0).preemptions
    state.release(1, 1200.0)
    assert execute(state, plan, 1300.0) == []
    assert state.counters.preemptions == 0
    assert not state.preempting and not state.awaiting


def test_a_later_periodic_checkpoint_wins_over_the_signal() -> None:
    state = busy_facility(checkpoint_s=600.0)
    state.submit(job(8, member=2, project=2, submit_s=1000.0, job_id=2))
    (plan,) = schedule_pass(state, 1000.0).preemptions
    (requeue,) = execute(state, plan, 1300.0)
    assert (requeue.kept_s, requeue.lost_accel_s) == (1200.0, 100.0 * 16)
