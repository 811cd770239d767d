"""The vectorised and incremental hot paths decide exactly as the plain code they replaced.

Each test runs the fast path and a straightforward reference (the earlier implementation,
kept here) on the same random states and asserts the same result, bit for bit: the victims
chosen for per-member and top-job preemption under every judge, the running table's job
order, the capacity index's arrays and the decayed usage.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pnyx.sched import (
    Judge,
    PreemptionPolicy,
    SchedulerConfig,
    SchedulerState,
    UsageTracker,
    grid_facility,
    schedule_pass,
)
from pnyx.sched.backfill import Forecast, _Fits
from pnyx.sched.jobs import Allocation, RunningJob, RunningTable
from pnyx.sched.placement import place
from pnyx.sched.preemption import (
    _fits_after,
    _victims,
    entitlement_gap,
    member_service,
    plan_member_preemptions,
)
from pnyx.sched.priority import water_fill

from .helpers import job, two_clusters

SETTINGS = settings(max_examples=60, deadline=None)


def reference_member_plans(state: SchedulerState, now_s: float) -> list[tuple[int, list[int]]]:
    """The earlier plan_member_preemptions: (beneficiary, victims) per plan, no side effects."""
    policy = state.config.preemption
    assert policy is not None
    q = state.pending
    slots = q.slots()
    if not slots.size:
        return []
    member, share = state.tree.members()
    n = share.size
    leaving = np.zeros(n)
    for job_id in state.preempting:
        run = state.running.jobs.get(job_id)
        if run is not None:
            leaving[member[run.leaf]] += run.rate
    running = np.bincount(member, weights=state.usage.rate[: member.size], minlength=n) - leaving
    job_member = member[q.leaf[slots]]
    pending = np.bincount(job_member, weights=q.accelerators[slots], minlength=n)
    ripe = q.submit_s[slots] <= now_s - policy.min_wait_s
    waited = np.bincount(job_member[ripe], weights=q.accelerators[slots][ripe], minlength=n)
    if policy.judge is Judge.ENTITLEMENT:
        gap = entitlement_gap(state, policy, member, n)
    else:
        gap = water_fill(float(state.fac.accelerators), running + pending, share) - running
    excess = -gap
    entitled = running + gap
    slack = policy.tolerance * state.fac.accelerators
    busy = {int(member[q.leaf[q.slot_of(j)]]) for j in state.awaiting if j in q}
    deficit = np.where(gap > slack, np.minimum(gap, waited), 0.0)
    deficit[list(busy)] = 0.0
    if not (deficit > 0).any():
        return []
    over = excess > slack
    runs = [
        run
        for run in state.running.jobs.values()
        if over[member[run.leaf]]
        and run.job.preemptible
        and run.job.job_id not in state.preempting
        and now_s - run.start_s >= policy.min_run_s
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(entitled > 0, running / entitled, np.inf)
    runs.sort(key=lambda r: (-float(ratio[member[r.leaf]]), r.expected_end_s - now_s))
    plans = []
    taken: set[int] = set()
    for m in np.argsort(-deficit, kind="stable").tolist():
        if deficit[m] <= 0:
            break
        victims: list[RunningJob] = []
        need = float(deficit[m])
        for run in runs:
            v = member[run.leaf]
            if need <= 0 or len(victims) >= policy.max_victims:
                break
            if run.job.job_id in taken or run.rate > excess[v]:
                continue
            victims.append(run)
            taken.add(run.job.job_id)
            excess[v] -= run.rate
            need -= run.rate
        mine = slots[ripe & (job_member == m)]
        top = q.job(int(mine[np.argmin(q.submit_s[mine])]))
        if victims and _fits_after(state, top, victims)(len(victims)):
            plans.append((top.job_id, [r.job.job_id for r in victims]))
            continue
        for run in victims:
            taken.discard(run.job.job_id)
            excess[member[run.leaf]] += run.rate
    return plans


def _at_risk(run: RunningJob, now_s: float) -> float:
    elapsed = now_s - run.start_s
    interval = run.job.checkpoint_interval_s
    since = elapsed % interval if interval else elapsed
    return since * run.job.accelerators


def _attained(run: RunningJob, now_s: float) -> float:
    return run.job.attained_accel_s + (now_s - run.start_s) * run.job.accelerators


def reference_victims(state: SchedulerState, top: Any, now_s: float) -> list[int] | None:
    """The earlier _victims: candidate victims of the top blocked job, in order."""
    policy = state.config.preemption
    assert policy is not None
    if policy.judge is Judge.ATTAINED:
        threshold = policy.attained_threshold_accel_s
        if top.attained_accel_s >= threshold:
            return None
        runs = [
            run
            for run in state.running.jobs.values()
            if run.job.preemptible
            and run.job.job_id not in state.preempting
            and _attained(run, now_s) >= threshold
        ]
        runs.sort(key=lambda r: (-_attained(r, now_s), _at_risk(r, now_s)))
        return [r.job.job_id for r in runs[: policy.max_victims]]
    lf = member_service(state, policy.judge)
    if lf[state.tree.leaf(top.path)] < 1.0:
        return None
    runs = [
        run
        for run in state.running.jobs.values()
        if run.job.preemptible
        and run.job.member != top.member
        and run.job.job_id not in state.preempting
        and lf[run.leaf] < 1.0
    ]
    runs.sort(key=lambda r: (float(lf[r.leaf]), _at_risk(r, now_s)))
    return [r.job.job_id for r in runs[: policy.max_victims]]


def build_loaded_state(draw: Callable[[Any], Any], judge: Judge) -> tuple[SchedulerState, float]:
    """A small facility filled by members 1-3 in turns, then jobs of every member queued."""
    policy = PreemptionPolicy(
        grace_s=300.0,
        min_wait_s=draw(st.sampled_from([0.0, 600.0])),
        min_gain_s=0.0,
        judge=judge,
        by_member=judge in (Judge.ENTITLEMENT, Judge.ALLOCATION),
        tolerance=draw(st.sampled_from([0.0, 0.02])),
        min_run_s=draw(st.sampled_from([0.0, 900.0])),
        max_victims=draw(st.sampled_from([2, 256])),
        repay_s=900.0,
        exit_s=60.0,
        attained_threshold_accel_s=1_800.0,
    )
    fac = grid_facility((3,), nodes_per_pod=4, per_node=8)
    shares = {(m,): draw(st.sampled_from([1.0, 2.0])) for m in range(1, 5)}
    state = SchedulerState(fac, SchedulerConfig(preemption=policy, half_life_s=7200.0), shares)
    ids = iter(range(1, 10_000))
    now = 0.0
    for _ in range(draw(st.integers(2, 4))):
        for _ in range(draw(st.integers(8, 20))):
            size = draw(st.sampled_from([1, 1, 2, 4, 8, 16]))
            member = draw(st.integers(1, 3))
            state.submit(
                job(
                    size,
                    per_node=8 if size == 16 else None,
                    member=member,
                    project=member,
                    job_id=next(ids),
                    time_limit_s=float(draw(st.integers(1, 20))) * 1_000.0,
                    submit_s=now,
                    preemptible=draw(st.sampled_from([True, True, False])),
                    checkpoint_interval_s=draw(st.sampled_from([None, 600.0, 1_800.0])),
                )
            )
        schedule_pass(state, now)
        ended = st.lists(st.sampled_from(sorted(state.running.jobs) or [0]), max_size=3)
        for job_id in draw(ended):
            if job_id in state.running.jobs:
                state.release(job_id, now)
        now += float(draw(st.integers(60, 3_000)))
    for _ in range(draw(st.integers(1, 10))):
        member = draw(st.sampled_from([1, 2, 3, 4, 4]))
        state.submit(
            job(
                draw(st.sampled_from([1, 4, 8])),
                member=member,
                project=member,
                job_id=next(ids),
                submit_s=now - draw(st.sampled_from([0.0, 700.0])),
                preemptible=True,
            )
        )
    state.usage.advance(now)
    return state, now


@st.composite
def loaded_states(draw: st.DrawFn, judge: Judge) -> tuple[SchedulerState, float]:
    """A loaded state (build_loaded_state with hypothesis's draws)."""
    return build_loaded_state(draw, judge)


@st.composite
def twin_loaded_states(
    draw: st.DrawFn, judge: Judge
) -> tuple[SchedulerState, SchedulerState, float]:
    """Two equal, independent loaded states: the second is built again from the first's
    draws (states of the native build cannot be deep-copied)."""
    drawn: list[Any] = []

    def recording(strategy: Any) -> Any:
        drawn.append(draw(strategy))
        return drawn[-1]

    first, now = build_loaded_state(recording, judge)
    replay = iter(drawn)
    second, again = build_loaded_state(lambda _strategy: next(replay), judge)
    assert again == now and next(replay, None) is None
    return first, second, now


@SETTINGS
@given(st.sampled_from([Judge.ENTITLEMENT, Judge.ALLOCATION]).flatmap(twin_loaded_states))
def test_member_plans_choose_the_victims_the_plain_walk_chose(
    case: tuple[SchedulerState, SchedulerState, float],
) -> None:
    state, twin, now = case
    expected = reference_member_plans(twin, now)
    plans = plan_member_preemptions(state, now)
    assert [(p.job_id, list(p.victims)) for p in plans] == expected


@SETTINGS
@given(
    st.sampled_from([Judge.USAGE, Judge.ALLOCATION, Judge.ATTAINED]).flatmap(loaded_states),
    st.data(),
)
def test_top_job_candidates_come_in_the_plain_order(
    case: tuple[SchedulerState, float], data: st.DataObject
) -> None:
    state, now = case
    pending = state.pending.jobs()
    top = data.draw(st.sampled_from(pending))
    policy = state.config.preemption
    assert policy is not None
    expected = reference_victims(state, top, now)
    got = _victims(state, policy, top, now)
    assert (None if got is None else [r.job.job_id for r in got]) == expected


@SETTINGS
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 3), st.integers(0, 40)), max_size=400))
def test_running_table_lists_live_jobs_in_insertion_order(
    ops: list[tuple[bool, int, int]],
) -> None:
    table = RunningTable()
    ids = iter(range(1, 100_000))
    for add, nodes, pick in ops:
        if add or not table.jobs:
            req = job(2 * nodes, per_node=2, job_id=next(ids), preemptible=bool(pick % 2))
            alloc = Allocation.of(list(range(nodes)), [2] * nodes)
            table.add(RunningJob(req, float(pick), alloc, 0, pick % 5, 2.0 * nodes))
        else:
            table.remove(sorted(table.jobs)[pick % len(table.jobs)])
        heads = table.live_jobs()
        assert table.job_id[heads].tolist() == list(table.jobs)
        runs = list(table.jobs.values())
        assert table.leaf[heads].tolist() == [r.leaf for r in runs]
        assert table.start_s[heads].tolist() == [r.start_s for r in runs]
        assert table.preemptible[heads].tolist() == [r.job.preemptible for r in runs]
        assert table.accelerators[heads].tolist() == [r.job.accelerators for r in runs]


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9), st.integers(0, 5)), max_size=80))
def test_usage_tracker_matches_the_array_expressions_bit_for_bit(
    ops: list[tuple[int, int, int]],
) -> None:
    h = 3_600.0
    tracker = UsageTracker(h)
    usage, rate, waiting, demand = np.zeros(64), np.zeros(64), np.zeros(64), np.zeros(64)
    span, now = 0.0, 0.0
    for op, leaf, x in ops:
        if op == 0:  # advance
            dt = 37.0 * x + 0.25
            now += dt
            a = 0.5 ** (dt / h)
            lam = math.log(2) / h
            usage = usage * a + rate * ((1 - a) / lam)
            demand = demand * a + (rate + waiting) * ((1 - a) / lam)
            span = span * a + (1 - a) / lam
            tracker.advance(now)
        elif op == 1:  # a job starts or ends
            delta = float(x) - 2.0
            rate[leaf] = max(0.0, rate[leaf] + delta)
            tracker.add_rate(leaf, delta)
        elif op == 2:
            w = np.arange(leaf + 1, dtype=np.float64) * x
            waiting[:] = 0.0
            waiting[: w.size] = w
            tracker.set_waiting(w)
        elif op == 3:  # a driver writes usage into the array it read (the dispatcher)
            usage[leaf] = demand[leaf] = float(x) * 1.5
            tracker.ensure(leaf + 1)
            tracker.usage[leaf] = tracker.demand[leaf] = float(x) * 1.5
        else:
            usage[leaf] += float(x)
            tracker.charge(leaf, float(x))
        n = tracker.usage.size
        assert n >= 64
        assert tracker.usage[:64].tolist() == usage.tolist()
        assert tracker.demand[:64].tolist() == demand.tolist()
        assert tracker.rate[:64].tolist() == rate.tolist()
        assert tracker.waiting[:64].tolist() == waiting.tolist()
        assert tracker.span_s == span


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 15), st.integers(1, 8)), max_size=60))
def test_capacity_arrays_follow_every_change(ops: list[tuple[int, int, int]]) -> None:
    state = SchedulerState(grid_facility((2,), nodes_per_pod=8, per_node=8))
    ix = state.index
    for op, node, c in ops:
        if op == 0 and ix.free[node] >= c and ix.up[node]:
            ix.allocate([node], [c], 1, False, False)
        elif op == 1 and ix.free[node] + ix.held[node] + c <= 8:
            ix.release([node], [c])
        elif op == 2:
            ix.hold([node], [c])
        else:
            ix.unhold_all()
        free = ix.arrays()[0]
        assert free.tolist() == [f + h for f, h in zip(ix.free, ix.held, strict=True)]
        free[:] = -1  # a fresh copy: the caller may scribble on it


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 4, 8, 16, 24]), st.integers(1, 4), st.integers(0, 1)),
        max_size=30,
    ),
    st.tuples(
        st.sampled_from([1, 3, 4, 8, 16, 32, 64]),
        st.sampled_from([(0,), (1,), (0, 1)]),
        st.integers(1, 4),
        st.integers(1, 3),
    ),
    st.lists(st.tuples(st.integers(0, 19), st.integers(0, 8)), max_size=6),
)
def test_reservation_fit_test_agrees_with_placement(
    running: list[tuple[int, int, int]],
    blocked: tuple[int, tuple[int, ...], int, int],
    claims: list[tuple[int, int]],
) -> None:
    state = SchedulerState(two_clusters())
    for i, (size, level, project) in enumerate(running):
        gang = 8 if size % 8 == 0 and size > 8 else None
        state.submit(
            job(
                size,
                per_node=gang,
                types=(i % 2,),
                containment=level,
                project=project + 1,
                job_id=1_000 + i,
                time_limit_s=100.0 * (i + 1),
            )
        )
    schedule_pass(state, 0.0)
    size, types, level, project = blocked
    request = job(
        size,
        per_node=8 if size % 8 == 0 and size > 8 else None,
        types=types,
        containment=level,
        project=project,
    )
    forecast = Forecast(state.index, state.running, 0.0)
    claimed = np.zeros(state.fac.n_nodes, dtype=np.int64)
    for node, c in claims:
        claimed[node] += c
    fits = _Fits(forecast, request, claimed)
    for t in forecast.times.tolist():
        view, _ = forecast.view_at(t, claimed)
        assert fits(t) == (place(view, request) is not None)
