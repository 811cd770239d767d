"""Member statements: delivered share per day from usage records against the enacted share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from allocation_setup import call_spec, proposal, set_time
from council_setup import OPERATOR, build_council
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import NotFoundError
from pnyx.services import accounting, awards, calls, council, council_read, identity, reviews
from pnyx.services import share_history as sh
from pnyx.services.context import ServiceContext
from pnyx.services.statement_shares import share_history_of
from pnyx.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPLIT = {"de": "0.6", "fr": "0.1", "it": "0.1", "es": "0.1", "pl": "0.1"}
# (project, start, end, accelerator-seconds)
USAGE = (
    ("alpha", "2026-01-02T10:00:00+00:00", "2026-01-02T12:00:00+00:00", 28_800),
    ("beta", "2026-01-02T10:00:00+00:00", "2026-01-02T11:00:00+00:00", 86_400),
    ("alpha", "2026-01-04T01:00:00+00:00", "2026-01-04T02:00:00+00:00", 7_200),
    ("alpha", "2026-01-04T22:00:00+00:00", "2026-01-05T02:00:00+00:00", 40_000),
    ("beta", "2026-01-05T05:00:00+00:00", "2026-01-05T06:00:00+00:00", 10_000),
)


def facility(ctx: ServiceContext) -> None:
    """Five members; awards to alpha (de) and beta (fr); usage on 2, 4 and 5 January; a
    member split (de 60 %) enacted at noon on 4 January."""
    c = build_council(ctx)
    calls.open_call(ctx, OPERATOR, call_spec({"h100": 2000}, min_reviewers=1))
    for project, member in (("alpha", "de"), ("beta", "fr")):
        pid = f"res-{project}"
        identity.create_principal(
            ctx, OPERATOR, NewPrincipal(pid, pid, frozenset({Role.RESEARCHER}), member)
        )
        who = Actor(pid, frozenset({Role.RESEARCHER}), member)
        calls.submit_proposal(ctx, who, proposal(project, {"h100": 500}))
    identity.create_principal(
        ctx, OPERATOR, NewPrincipal("rev-it", "rev", frozenset({Role.REVIEWER}), "it")
    )
    reviewer = Actor("rev-it", frozenset({Role.REVIEWER}), "it")
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    plan = reviews.assign_reviewers(ctx, OPERATOR, "c1")
    for pid, revs in plan.items():
        for _ in revs:
            reviews.record_review(ctx, reviewer, pid, 5, "ok")
    set_time(ctx, T0 + timedelta(hours=2, seconds=1))
    awards.publish_awards(ctx, OPERATOR, "c1")
    for project, start, end, seconds in USAGE:
        accounting.record_usage(ctx, OPERATOR, project, "h100", seconds, start, end)
    set_time(ctx, datetime(2026, 1, 4, 11, 59, 59, tzinfo=UTC))
    payload = {"programme_id": "open-models", "shares": SPLIT}
    rid = c.propose(kind="set-member-shares", payload=payload, rule="simple-majority")
    for member in SPLIT:
        c.vote(rid.resolution_id, member, "yes")
    set_time(ctx, datetime(2026, 1, 4, 12, 0, tzinfo=UTC))
    assert council_read.enacted_shares(ctx).members == {}
    council.close_resolution(ctx, OPERATOR, rid.resolution_id)


def test_points_are_the_usage_sums_and_the_enacted_shares(ctx: ServiceContext) -> None:
    facility(ctx)
    de = {d.day: d for d in share_history_of(ctx, "de").days}
    fr = {d.day: d for d in share_history_of(ctx, "fr").days}
    assert list(de) == ["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]
    # 2 January: de 28,800 s, fr 86,400 s
    assert de["2026-01-02"].delivered_accel_hours == pytest.approx(8.0)
    assert fr["2026-01-02"].delivered_accel_hours == pytest.approx(24.0)
    assert de["2026-01-02"].delivered_share == pytest.approx(8 / 32)
    assert de["2026-01-03"].delivered_share is None  # nobody used anything
    # 4 January: 7,200 s plus the half of 40,000 s before midnight; de alone
    assert de["2026-01-04"].delivered_accel_hours == pytest.approx((7_200 + 20_000) / 3600)
    assert de["2026-01-04"].delivered_share == pytest.approx(1.0)
    assert de["2026-01-05"].delivered_share == pytest.approx(20_000 / 30_000)
    total = sum(d.delivered_accel_hours for d in de.values()) * 3600
    assert total == pytest.approx(sum(u[3] for u in USAGE if u[0] == "alpha"))
    # enacted: equal (1/5) until noon on 4 January, then de 60 %: half a day each
    assert de["2026-01-02"].enacted_share == pytest.approx(0.2)
    assert de["2026-01-04"].enacted_share == pytest.approx(0.4)
    assert de["2026-01-05"].enacted_share == pytest.approx(0.6)
    assert fr["2026-01-05"].enacted_share == pytest.approx(0.1)
    # the replayed history ends where the projection is
    last = sh.enactments(ctx)[-1].state
    assert last.members == council_read.enacted_shares(ctx).members
    with pytest.raises(NotFoundError):
        share_history_of(ctx, "xx")


def test_statement_page_plots_and_lists_the_same_figures(ctx: ServiceContext) -> None:
    facility(ctx)
    client = TestClient(create_app(Settings(), ctx=ctx))
    page = client.get("/statements/member/de", headers={"accept": "text/html"}).text
    history = share_history_of(ctx, "de")
    delivered = ",".join(
        "" if d.delivered_share is None else f"{d.delivered_share:.6g}" for d in history.days
    )
    enacted = ",".join(f"{d.enacted_share:.6g}" for d in history.days)
    assert f'data-name="delivered share" data-values="{delivered}"' in page
    assert f'data-name="enacted share" data-values="{enacted}"' in page
    assert '<tr data-day="2026-01-04">' in page and '<td class="delivered">7.556</td>' in page
    api = client.get("/api/v1/statements/member/de/shares").json()
    assert [d["delivered_accel_hours"] for d in api["days"]] == [
        d.delivered_accel_hours for d in history.days
    ]
    assert client.get("/api/v1/statements/member/xx/shares").status_code == 404
    awards_page = client.get("/awards").text
    assert 'href="/statements/member/de"' in awards_page
