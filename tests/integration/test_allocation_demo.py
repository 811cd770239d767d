"""The allocation demo: 12 proposals, conflicts respected, awards within budget, replay and
``ledger verify`` reproduce the public programmes and awards."""

from __future__ import annotations

from pnyx.domain.identity import Actor
from pnyx.services import calls, identity, reviews
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import BUDGET, CALL_ID, run_allocation_demo
from pnyx.services.logsources import DbLogSource
from pnyx.services.verify import verify_log
from pnyx.store.replay import check_replay


def test_demo_flow_is_consistent_and_verifiable(ctx: ServiceContext) -> None:
    for m in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, Actor.system(), m, m.upper())
    summary = run_allocation_demo(ctx)
    assert summary["proposals"] == 12
    assert summary["reviews"] == 36
    given: dict[str, int] = {}
    for award in summary["awards"]:
        for kind, hours in award["hours"].items():
            given[kind] = given.get(kind, 0) + hours
    assert all(given[k] + summary["remaining"][k] == BUDGET[k] for k in BUDGET)
    props = {p.proposal_id: p for p in calls.list_proposals(ctx, CALL_ID)}
    for pid, reviewer_ids in reviews.list_assignments(ctx, CALL_ID).items():
        assert all(r.removeprefix("rev-") != props[pid].member_id for r in reviewer_ids)
    first = min(props)
    assert "rev-it" not in reviews.list_assignments(ctx, CALL_ID)[first]  # declared conflict
    assert run_allocation_demo(ctx) == summary  # idempotent
    assert check_replay(ctx.db).ok
    assert ctx.log_signer is not None
    report = verify_log(DbLogSource(ctx.db, ctx.log_signer.verifier))
    assert report.ok, report.error
    assert {"programmes", "awards"} <= set(report.replayed_views)
