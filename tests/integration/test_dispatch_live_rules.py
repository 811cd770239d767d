"""The live scheduler's own rules around the core (issue 5 item 10): a job's preferred type
wins inside the core's clusters (never over a reservation), every live preemption agrees with
the configured judge, the entitlement's capacity is the whole machine's, work run outside
pnyx counts as its member's usage, and the broker's Fair-Tree usage is kept between passes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.integration.jobs_setup import OPERATOR
from tests.integration.test_dispatch_sched import Live

from pnyx.sched.preemption import Judge
from pnyx.services import accounting
from pnyx.services.context import ServiceContext, format_time
from pnyx.services.dispatch import DispatchConfig, default_preemption, run_key, store_namespace
from pnyx.services.dispatch_entitlement import OUTSIDE, EntitlementBook
from pnyx.services.dispatch_order import fair_inputs
from pnyx.services.dispatch_usage import UsageBook
from pnyx.store.replay import check_replay

ONE_POD = ("lab-gpu-r000-n000", "lab-gpu-r000-n001")
HALF_LIFE_S = 7 * 86_400.0


def _placed_reason(live: Live, job_id: str) -> str:
    return next(h.reason for h in live.job(job_id).history if h.state == "placed")


# --- 3. the preferred type inside the core -------------------------------------------------


def test_a_job_starts_on_the_type_it_lists_first_when_that_type_has_room(
    ctx: ServiceContext,
) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD, "lab-mix": ()})
    either = live.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    report = live.run()
    assert report.placed == [either]
    view = live.job(either)
    # best fit alone would take a 2-accelerator mi300x node (nothing left over)
    assert (view.cluster, view.accelerator_type) == ("lab-gpu", "h100")
    assert set(live.engine_nodes(either)) <= set(ONE_POD)
    assert "the first type it prefers with room" in _placed_reason(live, either)
    other = live.submit(accelerator_types=["mi300x", "h100"], accelerators_per_node=2)
    live.run()
    assert live.job(other).accelerator_type == "mi300x"  # its own first choice
    assert check_replay(ctx.db).ok


def test_the_second_type_is_taken_when_the_first_has_no_room(ctx: ServiceContext) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD, "lab-mix": ()})
    full = [live.submit(time_limit_s=7200) for _ in ONE_POD]
    live.run()
    either = live.submit(accelerator_types=["h100", "mi300x"], accelerators_per_node=2)
    report = live.run()
    assert report.placed == [either]
    assert live.job(either).accelerator_type == "mi300x"
    assert "the types it lists first have no room for it" in _placed_reason(live, either)
    assert all(live.job(j).state == "running" for j in full)


def test_a_move_to_the_preferred_type_never_takes_a_reservations_nodes(
    ctx: ServiceContext,
) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD, "lab-mix": ()})
    first = live.submit(time_limit_s=7200)
    live.run()
    big = live.submit(nodes=2, time_limit_s=3600)  # reserved: both h100 nodes
    either = live.submit(
        accelerator_types=["h100", "mi300x"], accelerators_per_node=2, time_limit_s=3 * 3600
    )
    report = live.run()
    assert report.waiting[big].startswith("reserved: starts by ")
    assert report.placed == [either]
    # the free h100 node is the reservation's: the job keeps its mi300x node
    assert live.job(either).accelerator_type == "mi300x"
    assert live.job(first).state == "running"


# --- 2. the top reservation's plan by the configured judge ---------------------------------


def _finish(live: Live, job_id: str) -> None:
    key = run_key(job_id, 0, store_namespace(live.ctx, OPERATOR))
    live.engines["lab-gpu"].finish(key)


def test_the_top_reservation_never_preempts_for_a_member_above_its_entitlement(
    ctx: ServiceContext,
) -> None:
    quick = replace(default_preemption(), min_wait_s=0.0, min_gain_s=0.0)
    live = Live(ctx, {"lab-gpu": ONE_POD}, DispatchConfig(preemption=quick))
    live.engines["lab-gpu"].now = ctx.clock().timestamp()
    # de runs the whole pod for an hour while fr waits: de is far above its entitlement
    history = [live.submit(time_limit_s=7200) for _ in ONE_POD]
    live.run()
    waited = live.submit("bob", time_limit_s=400, preemptible=True, checkpoint_signal="USR1")
    live.run()
    live.later(3600)
    live.run()
    for job_id in history:
        _finish(live, job_id)
    live.later(10)
    live.run()
    live.run()  # their usage records, then their end
    assert all(live.job(j).state == "succeeded" for j in history)
    second = live.submit("bob", time_limit_s=400, preemptible=True, checkpoint_signal="USR1")
    live.run()
    assert live.job(waited).state == live.job(second).state == "running"
    live.later(60)
    wanted = live.submit(time_limit_s=600)
    report = live.run()
    # by what runs now fr (16 of 16) is above de (0): the core's top-reservation plan
    # would take one of fr's jobs; by entitlement de is the one above its share
    assert report.preempting == []
    assert report.waiting[wanted].startswith("reserved: ")
    assert report.waiting[wanted].endswith("member de is at or above its share by entitlement")
    assert live.job(waited).state == live.job(second).state == "running"


def test_with_the_allocation_judge_its_plans_are_kept(
    ctx: ServiceContext,
) -> None:
    quick = replace(default_preemption(Judge.ALLOCATION), min_wait_s=0.0, min_gain_s=0.0)
    live = Live(ctx, {"lab-gpu": ONE_POD}, DispatchConfig(preemption=quick))
    a = live.submit("bob", time_limit_s=400, preemptible=True, checkpoint_signal="USR1")
    b = live.submit("bob", time_limit_s=400, preemptible=True, checkpoint_signal="USR1")
    live.run()
    wanted = live.submit(time_limit_s=600)
    report = live.run()
    assert len(report.preempting) == 1 and report.preempting[0] in (a, b)
    assert f"preempting {report.preempting[0]} for it" in report.waiting[wanted]


# --- 1. the entitlement's capacity is the whole machine's ----------------------------------


def test_the_entitlement_capacity_counts_the_brokers_clusters(ctx: ServiceContext) -> None:
    # lab-gpu's engine reports its declared nodes (the core), lab-big's reports none of its
    # 48 declared h100 (the broker's): de's demand fits the machine, not the core's 16
    live = Live(ctx, {"lab-gpu": ONE_POD, "lab-big": ("not-declared",)})
    running = [live.submit(time_limit_s=7200) for _ in ONE_POD]
    live.run()
    blocked = live.submit(nodes=2, time_limit_s=7200)
    bob = live.submit("bob", time_limit_s=600)
    live.later(1200)
    report = live.run()
    assert all(live.job(j).state == "running" for j in running)
    # over 20 min de demanded 32 and ran 16, fr demanded 8: of 64 accelerators de is owed
    # 32 (below its share); of the core's 16 it would be entitled to 8 (above)
    assert report.waiting[blocked].endswith("member de is below its share by entitlement")
    assert report.waiting[bob].endswith("member fr is below its share by entitlement")


def test_without_broker_clusters_the_capacity_is_the_cores(ctx: ServiceContext) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD})
    [live.submit(time_limit_s=7200) for _ in ONE_POD]
    live.run()
    blocked = live.submit(nodes=2, time_limit_s=7200)
    live.submit("bob", time_limit_s=600)
    live.later(1200)
    report = live.run()
    assert report.waiting[blocked].endswith("member de is at or above its share by entitlement")


# --- 5. work run outside pnyx ----------------------------------------------------------------


def _outside(
    ctx: ServiceContext, hours_ago: float, seconds: int, project: str = "alpha", size: int = 8
) -> None:
    """A usage record of work run outside pnyx (no pnyx job), ``size`` h100 accelerators for
    ``seconds`` from ``hours_ago``."""
    start = ctx.clock() - timedelta(hours=hours_ago)
    end = start + timedelta(seconds=seconds)
    accounting.record_usage(
        ctx, OPERATOR, project, "h100", size * seconds, format_time(start), format_time(end)
    )


def test_work_run_outside_pnyx_counts_as_its_members_usage_and_demand(
    ctx: ServiceContext,
) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD})
    _outside(ctx, 2.0, 3600)  # a Slurm job of project alpha, 8 accelerators, an hour
    kept = EntitlementBook(HALF_LIFE_S)
    now_s = ctx.clock().timestamp()
    kept.refresh(ctx, now_s)
    leaf = (live.world.award_alpha, "alpha", OUTSIDE)
    first = kept.at([], now_s)
    assert first.usage[leaf] == pytest.approx(8 * 3600, rel=0.01)
    assert first.demand[leaf] == pytest.approx(8 * 3600, rel=0.01)
    assert first.span_s == pytest.approx(2 * 3600, rel=0.01)  # from the work's start
    live.later(600)
    _outside(ctx, 0.5, 900)  # recorded after the book's last pass: read by seq
    now_s = ctx.clock().timestamp()
    kept.refresh(ctx, now_s)
    fresh = EntitlementBook(HALF_LIFE_S)
    fresh.refresh(ctx, now_s)
    a, b = kept.at([], now_s), fresh.at([], now_s)
    assert a.usage[leaf] == pytest.approx(b.usage[leaf], rel=1e-9)
    assert a.usage[leaf] == pytest.approx(8 * (3600 + 900), rel=0.01)
    fair = fair_inputs(ctx, [], ctx.clock(), 7.0, [leaf], project_usage=False)
    assert fair.members[fair.history[leaf][0]] == "de"  # booked on alpha's member


def test_outside_work_puts_its_member_above_its_entitlement(ctx: ServiceContext) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD})
    theirs = live.submit("bob", time_limit_s=800)
    live.run()
    blocked = live.submit(nodes=2, time_limit_s=3600)
    live.run()
    live.later(600)
    report = live.run()
    assert live.job(theirs).state == "running"
    # 10 min: de demanded 16 and ran nothing, fr demanded and ran 8: de is owed 8
    assert report.waiting[blocked].endswith("member de is below its share by entitlement")
    _outside(ctx, 0.15, 500, size=16)  # de's Slurm work on 16 accelerators meanwhile
    report = live.run()
    assert report.waiting[blocked].endswith("member de is at or above its share by entitlement")


# --- 4. the broker's Fair-Tree usage, kept between passes -----------------------------------


def test_the_usage_book_agrees_with_reading_every_record(ctx: ServiceContext) -> None:
    Live(ctx)
    _outside(ctx, 30.0, 3600)
    _outside(ctx, 5.0, 1800, "beta")
    book, now = UsageBook(HALF_LIFE_S), ctx.clock()
    assert book.usage(ctx, now) == pytest.approx(accounting.decayed_usage(ctx, now, 7.0), rel=1e-12)
    ctx.clock.now += timedelta(days=2)  # type: ignore[attr-defined]
    _outside(ctx, 1.0, 600)
    _outside(ctx, -1.0, 600, "beta")  # ends in the future: counts fully until it ends
    for _ in range(3):
        now = ctx.clock()
        kept, full = book.usage(ctx, now), accounting.decayed_usage(ctx, now, 7.0)
        assert kept.keys() == full.keys() == {"alpha", "beta"}
        for project in full:
            assert kept[project] == pytest.approx(full[project], rel=1e-12)
        ctx.clock.now += timedelta(hours=1)  # type: ignore[attr-defined]
    assert book.seq > 0


def test_the_dispatcher_keeps_the_usage_book_between_passes(ctx: ServiceContext) -> None:
    live = Live(ctx, config=DispatchConfig(placement="engine"))
    live.submit(time_limit_s=600)
    live.submit(time_limit_s=600)
    live.run()
    book = live.state.usage
    assert book is not None and book.seq > 0
    seen = book.seq
    _outside(ctx, 1.0, 600)
    live.submit(time_limit_s=600)
    live.submit(time_limit_s=600)
    live.run()
    assert live.state.usage is book and book.seq > seen
    now = ctx.clock()
    assert book.usage(ctx, now)["alpha"] == pytest.approx(
        accounting.decayed_usage(ctx, now, 7.0)["alpha"], rel=1e-12
    )
