"""Baseline orderings of the pass: FIFO (strict or with backfill), shortest first, LAS."""

from __future__ import annotations

import dataclasses

from pnyx.sched import Ordering, SchedulerConfig, SchedulerState, grid_facility, schedule_pass
from pnyx.sched.state import requeued

from .helpers import job


def one_pod_state(config: SchedulerConfig) -> SchedulerState:
    """One pod of 2 nodes of 8 accelerators."""
    return SchedulerState(grid_facility((1,), 2, 8), config)


def test_strict_fifo_stops_at_the_first_blocked_job() -> None:
    state = one_pod_state(SchedulerConfig(ordering=Ordering.FIFO, backfill=False))
    state.submit(job(8, job_id=1, submit_s=0.0, time_limit_s=1000))
    state.submit(job(16, job_id=2, submit_s=1.0))  # blocked behind job 1
    state.submit(job(1, job_id=3, submit_s=2.0, time_limit_s=10))  # would fit
    started = [s.job_id for s in schedule_pass(state, 5.0).started]
    assert started == [1]
    assert 3 in state.pending


def test_fifo_with_backfill_starts_the_short_job_past_the_blocked_one() -> None:
    state = one_pod_state(SchedulerConfig(ordering=Ordering.FIFO))
    state.submit(job(8, job_id=1, submit_s=0.0, time_limit_s=1000))
    state.submit(job(16, job_id=2, submit_s=1.0))
    state.submit(job(1, job_id=3, submit_s=2.0, time_limit_s=10))
    started = [s.job_id for s in schedule_pass(state, 5.0).started]
    assert started == [1, 3]


def test_fifo_ignores_fair_share_and_size() -> None:
    state = one_pod_state(SchedulerConfig(ordering=Ordering.FIFO, backfill=False))
    state.submit(job(16, job_id=1, submit_s=0.0, member=1))
    state.submit(job(16, job_id=2, submit_s=0.0, member=2))  # same time: lower id first
    assert [s.job_id for s in schedule_pass(state, 0.0).started] == [1]


def test_shortest_first_orders_by_time_limit() -> None:
    state = one_pod_state(SchedulerConfig(ordering=Ordering.SHORTEST, backfill=False))
    state.submit(job(16, job_id=1, submit_s=0.0, time_limit_s=500))
    state.submit(job(16, job_id=2, submit_s=9.0, time_limit_s=50))
    assert [s.job_id for s in schedule_pass(state, 10.0).started] == [2]


def test_least_attained_puts_requeued_jobs_last() -> None:
    config = SchedulerConfig(ordering=Ordering.LEAST_ATTAINED, backfill=False)
    state = one_pod_state(config)
    state.submit(job(16, job_id=1, submit_s=0.0, time_limit_s=500))
    assert [s.job_id for s in schedule_pass(state, 0.0).started] == [1]
    state.requeue(1, 100.0)
    state.submit(job(16, job_id=2, submit_s=50.0))
    assert [s.job_id for s in schedule_pass(state, 100.0).started] == [2]


def test_requeued_adds_the_service_received() -> None:
    state = one_pod_state(SchedulerConfig())
    first = dataclasses.replace(job(4, job_id=7, time_limit_s=500), attained_accel_s=10.0)
    state.submit(first)
    schedule_pass(state, 0.0)
    item = requeued(state.release(7, 30.0), 30.0)
    assert item.job.attained_accel_s == 10.0 + 30.0 * 4
