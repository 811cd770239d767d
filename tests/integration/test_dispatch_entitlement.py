"""The live dispatcher judges by entitlement like the simulator: decayed demand, usage and
capacity rebuilt from the store (a restarted dispatcher agrees with one that ran all along),
preemption and pending reasons that name the judge."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.integration.jobs_setup import OPERATOR
from tests.integration.test_dispatch_sched import Live

from pnyx.backends.fake import FakeProgram
from pnyx.sched.preemption import Judge
from pnyx.services import jobs
from pnyx.services.context import ServiceContext
from pnyx.services.dispatch import (
    DispatchConfig,
    DispatchState,
    default_preemption,
    dispatch_config,
    run_key,
    store_namespace,
)
from pnyx.services.dispatch_entitlement import EntitlementBook
from pnyx.store.replay import check_replay

ONE_POD = ("lab-gpu-r000-n000", "lab-gpu-r000-n001")
HALF_LIFE_S = 7 * 86_400.0


def by_entitlement_only() -> DispatchConfig:
    """The live default, with the top-reservation plans (judged by what runs now) left out,
    so that only the entitlement's per-member plans may preempt."""
    return DispatchConfig(preemption=replace(default_preemption(), min_gain_s=1e9))


def test_the_default_judge_is_entitlement_planned_per_member() -> None:
    policy = DispatchConfig().preemption
    assert policy is not None and policy.judge is Judge.ENTITLEMENT and policy.by_member
    assert dispatch_config("engine", "off").preemption is None
    allocation = dispatch_config("pnyx", "allocation").preemption
    assert allocation is not None and allocation.judge is Judge.ALLOCATION


def test_an_owed_member_preempts_by_entitlement_after_a_restart(ctx: ServiceContext) -> None:
    live = Live(ctx, {"lab-gpu": ONE_POD}, by_entitlement_only())
    kept = live.submit(time_limit_s=7200)
    victim = live.submit(time_limit_s=7200, preemptible=True, checkpoint_signal="USR1", grace_s=30)
    live.run()
    wanted = live.submit("bob", accelerators_per_node=8, time_limit_s=600)
    first = live.run()
    assert first.preempting == []  # fr has demanded nothing yet: it is owed nothing
    waiting = live.job(wanted).pending_reason or ""
    assert waiting.endswith("member fr is at or above its share by entitlement")
    live.later(1000)
    live.state = DispatchState()  # a restart: the decayed integrals come from the store
    second = live.run()
    assert second.preempting == [victim]
    notice = live.job(victim).history[-1].reason
    assert f"to make room for job {wanted} of member fr" in notice
    assert "accelerators over its entitlement, by entitlement" in notice
    reason = live.job(wanted).pending_reason or ""
    assert f"preempting {victim} for it (judged by entitlement)" in reason
    assert reason.endswith("member fr is below its share by entitlement")
    live.later(301)  # the policy's grace period
    third = live.run()
    assert victim in third.requeued and wanted in third.placed
    assert live.job(kept).state == "running"
    assert check_replay(ctx.db).ok


def _finish(live: Live, job_id: str) -> None:
    key = run_key(job_id, 0, store_namespace(live.ctx, OPERATOR))
    live.engines["lab-gpu"].finish(key)


def test_a_restarted_book_agrees_with_the_one_kept_between_passes(ctx: ServiceContext) -> None:
    live = Live(ctx, config=DispatchConfig())
    engine = live.engines["lab-gpu"]
    engine.program_for = lambda spec: FakeProgram(duration_s=None)
    engine.now = ctx.clock().timestamp()  # the engine's clock is the store's
    first = [live.submit(accelerators_per_node=4, time_limit_s=3600) for _ in range(3)]
    live.run()
    live.later(600)
    live.run()
    _finish(live, first[0])
    live.later(300)
    live.run()
    live.run()  # its usage record is imported, then it succeeds
    later = live.submit("bob", nodes=2, accelerators_per_node=8, time_limit_s=300)
    live.run()  # it waits: alice holds half the open pod
    live.later(100)
    jobs.cancel_job(ctx, live.world.bob, later, "not needed")
    live.later(800)
    live.run()
    kept = live.state.book
    assert kept is not None and kept.seq > 0
    now_s = ctx.clock().timestamp()
    rows = [r for r in _rows(ctx) if r["state"] not in ("succeeded", "failed", "cancelled")]
    fresh = EntitlementBook(HALF_LIFE_S)
    fresh.refresh(ctx, now_s)
    kept.refresh(ctx, now_s)
    a, b = kept.at(rows, now_s), fresh.at(rows, now_s)
    assert a.span_s == pytest.approx(b.span_s) and a.span_s > 0
    assert a.demand.keys() == b.demand.keys() and len(a.demand) == 2  # alice's and bob's leaf
    for key in a.demand:
        assert a.demand[key] == pytest.approx(b.demand[key], rel=1e-9)
    assert a.usage.keys() == b.usage.keys()
    for key in a.usage:
        assert a.usage[key] == pytest.approx(b.usage[key], rel=1e-9)
    alice = next(k for k in a.usage if k[1] == "alpha")
    # three 4-accelerator jobs: one ran 600 s (its usage record), two still run (1800 s so
    # far); one demanded from its submission to its end (900 s), two still do (decay < 1 %)
    assert a.usage[alice] == pytest.approx(4 * (600 + 1800 + 1800), rel=0.01)
    assert a.demand[alice] == pytest.approx(4 * (900 + 1800 + 1800), rel=0.01)
    bob = next(k for k in a.demand if k[1] == "beta")
    assert bob not in a.usage and a.demand[bob] == pytest.approx(16 * 100, rel=0.01)


def _rows(ctx: ServiceContext) -> list[dict[str, object]]:
    from pnyx.store import jobs_repo

    with ctx.db.read() as conn:
        return jobs_repo.job_rows(conn)
