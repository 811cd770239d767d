"""Allocation services against SQLite and PostgreSQL: calls, proposals, reviews, awards,
usage, admission, statements, decay, and replay after a full flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.allocation_setup import (
    DEADLINE,
    OPERATOR,
    REVIEW_DEADLINE,
    T0,
    call_spec,
    event_count,
    full_flow,
    person,
    proposal,
    reviewers,
    set_time,
    setup,
)

from pnyx.domain.allocation import CallSpec
from pnyx.domain.identity import Actor, Role
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.services import accounting, awards, calls, reviews
from pnyx.services.context import ServiceContext
from pnyx.store.replay import check_replay

# --- calls and proposals ------------------------------------------------------------------------


def test_researcher_may_not_open_call(ctx: ServiceContext) -> None:
    setup(ctx)
    before = event_count(ctx)
    with pytest.raises(PermissionDeniedError):
        calls.open_call(
            ctx, Actor("x", frozenset({Role.RESEARCHER})), call_spec({"h100": 1}, call_id="c2")
        )
    assert event_count(ctx) == before


def test_call_needs_known_programme_and_unique_id(ctx: ServiceContext) -> None:
    setup(ctx)
    before = event_count(ctx)
    with pytest.raises(ConflictError):
        calls.open_call(ctx, OPERATOR, call_spec({"h100": 1}))
    bad = CallSpec(
        "c3", "no-such", "T", {"h100": 1}, "2026-01-01", "2026-02-01", DEADLINE, REVIEW_DEADLINE
    )
    with pytest.raises(InvalidInputError, match="programme"):
        calls.open_call(ctx, OPERATOR, bad)
    assert event_count(ctx) == before


def test_call_budget_in_credits_uses_billing_weights(ctx: ServiceContext) -> None:
    setup(ctx)
    calls.set_billing_weights(ctx, OPERATOR, {"h100": "1.0", "h200": "1.3", "b200": "2.0"})
    view = calls.open_call(
        ctx, OPERATOR, call_spec({"h200": 1300, "b200": 1001}, call_id="c2"), in_credits=True
    )
    assert view.budget == {"b200": 500, "h200": 1000}
    assert view.budget_credits == {"b200": 1001, "h200": 1300}
    assert view.billing_version == 1


def test_submission_rules(ctx: ServiceContext) -> None:
    setup(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    before = event_count(ctx)
    with pytest.raises(InvalidInputError, match="not in the call's budget"):
        calls.submit_proposal(ctx, ada, proposal("p1", {"b200": 10}))
    with pytest.raises(InvalidInputError, match="open-models programme requires"):
        calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10}, data_open=False))
    with pytest.raises(PermissionDeniedError):
        calls.submit_proposal(
            ctx, Actor("rev", frozenset({Role.REVIEWER}), "de"), proposal("p1", {"h100": 1})
        )
    nomember = person(ctx, "nomad", Role.RESEARCHER, None)
    with pytest.raises(InvalidInputError, match="no member state"):
        calls.submit_proposal(ctx, nomember, proposal("p1", {"h100": 10}))
    assert event_count(ctx) == before + 1  # only the principal "nomad"
    view = calls.submit_proposal(ctx, nomember, proposal("p2", {"h100": 10}), member_id="fr")
    assert view.member_id == "fr"
    assert view.proposal_id == "c1.001"


def test_no_submission_after_deadline(ctx: ServiceContext) -> None:
    setup(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    set_time(ctx, T0 + timedelta(hours=1))
    with pytest.raises(ConflictError, match="closed for submissions"):
        calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10}))


def test_early_close_ends_submissions(ctx: ServiceContext) -> None:
    setup(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    with pytest.raises(ConflictError, match="submission phase before"):
        calls.close_phase(ctx, OPERATOR, "c1", "review")
    calls.close_phase(ctx, OPERATOR, "c1", "submission")
    assert calls.get_call(ctx, "c1").closed_phases == ["submission"]
    with pytest.raises(ConflictError):
        calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10}))


# --- reviews ------------------------------------------------------------------------------------


def test_assignment_respects_conflicts(ctx: ServiceContext) -> None:
    setup(ctx, min_reviewers=2)
    revs = reviewers(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    pid = calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10})).proposal_id
    reviews.declare_conflict(ctx, revs["rev-fr"], pid, "co-author")
    with pytest.raises(ConflictError, match="still accepts"):
        reviews.assign_reviewers(ctx, OPERATOR, "c1")
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    plan = reviews.assign_reviewers(ctx, OPERATOR, "c1")
    assert plan == {pid: ["rev-it", "rev-it2"]}  # not rev-de (same member), not rev-fr (conflict)
    assert reviews.list_assignments(ctx, "c1") == plan
    with pytest.raises(ConflictError, match="already assigned"):
        reviews.declare_conflict(ctx, revs["rev-it"], pid, "late")


def test_assignment_fails_without_enough_eligible_reviewers(ctx: ServiceContext) -> None:
    setup(ctx, min_reviewers=4)  # 4 reviewers, one shares the proposer's member
    reviewers(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10}))
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    before = event_count(ctx)
    with pytest.raises(ConflictError, match="eligible reviewers"):
        reviews.assign_reviewers(ctx, OPERATOR, "c1")
    assert event_count(ctx) == before


def test_review_rules(ctx: ServiceContext) -> None:
    setup(ctx)
    revs = reviewers(ctx)
    ada = person(ctx, "ada", Role.RESEARCHER, "de")
    pid = calls.submit_proposal(ctx, ada, proposal("p1", {"h100": 10})).proposal_id
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    plan = reviews.assign_reviewers(ctx, OPERATOR, "c1")
    outsider = next(r for r in revs if r not in plan[pid])
    with pytest.raises(ConflictError, match="not assigned"):
        reviews.record_review(ctx, revs[outsider], pid, 3)
    me = revs[plan[pid][0]]
    with pytest.raises(InvalidInputError, match="score must be"):
        reviews.record_review(ctx, me, pid, 6)
    reviews.record_review(ctx, me, pid, 3, "first")
    amended = reviews.record_review(ctx, me, pid, 4, "second")
    assert (amended.score, amended.versions) == (4, 2)
    set_time(ctx, T0 + timedelta(hours=2))
    with pytest.raises(ConflictError, match="closed"):
        reviews.record_review(ctx, me, pid, 5)


# --- awards -------------------------------------------------------------------------------------


def test_awards_follow_rank_with_partial_award(ctx: ServiceContext) -> None:
    ids = full_flow(ctx)
    got = {a.project_id: a.hours for a in awards.list_awards(ctx)}
    # alpha (5) takes 600 h100; beta (4) gets the last 400 h100 (partial) and 200 h200;
    # gamma (2) is below the threshold of 3.
    assert got == {"alpha": {"h100": 600}, "beta": {"h100": 400, "h200": 200}}
    props = {p.project_id: p for p in calls.list_proposals(ctx, "c1")}
    assert [props[k].outcome for k in ("alpha", "beta", "gamma")] == [
        "awarded",
        "partial",
        "below-threshold",
    ]
    assert props["alpha"].rank == 1 and props["alpha"].mean == "5.000"
    assert props["gamma"].scores == [2, 2]
    assert calls.get_call(ctx, "c1").remaining == {"h100": 0, "h200": 300}
    with pytest.raises(ConflictError, match="already published"):
        awards.publish_awards(ctx, OPERATOR, ids["alpha"].split(".")[0])


def test_publish_refused_while_reviews_open(ctx: ServiceContext) -> None:
    setup(ctx)
    with pytest.raises(ConflictError, match="not assigned"):
        awards.publish_awards(ctx, OPERATOR, "c1")
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    reviewers(ctx)
    reviews.assign_reviewers(ctx, OPERATOR, "c1")
    with pytest.raises(ConflictError, match="open until"):
        awards.publish_awards(ctx, OPERATOR, "c1")
    with pytest.raises(NotFoundError):
        awards.publish_awards(ctx, OPERATOR, "nope")


# --- accounting ---------------------------------------------------------------------------------


def test_usage_admission_statements_and_decay(ctx: ServiceContext) -> None:
    full_flow(ctx)
    accounting.record_usage(
        ctx,
        OPERATOR,
        "beta",
        "h100",
        300 * 3600,
        "2026-02-01T00:00:00Z",
        "2026-02-02T00:00:00Z",
        "job-1",
    )
    with pytest.raises(InvalidInputError, match="no award"):
        accounting.record_usage(
            ctx, OPERATOR, "alpha", "h200", 10, "2026-02-01T00:00:00Z", "2026-02-01T01:00:00Z"
        )
    with pytest.raises(PermissionDeniedError):
        accounting.record_usage(
            ctx,
            Actor("r", frozenset({Role.RESEARCHER})),
            "beta",
            "h100",
            1,
            "2026-02-01T00:00:00Z",
            "2026-02-01T01:00:00Z",
        )
    accounting.check_admission(ctx, "beta", "h100", 8, 12 * 3600)  # 96 h of 100 left
    with pytest.raises(PermissionDeniedError, match=r"100\.00 h100 accelerator-hours left"):
        accounting.check_admission(ctx, "beta", "h100", 8, 13 * 3600)
    with pytest.raises(PermissionDeniedError):
        accounting.check_admission(ctx, "gamma", "h100", 1, 1)
    beta = accounting.statement(ctx, "project", "beta")
    assert [
        (x.accelerator_type, x.awarded_hours, x.used_hours, x.remaining_hours) for x in beta.lines
    ] == [
        ("h100", 400, 300.0, 100.0),
        ("h200", 200, 0.0, 200.0),
    ]
    fr = accounting.statement(ctx, "member", "fr")
    assert fr.lines == beta.lines
    prog = accounting.statement(ctx, "programme", "open-models")
    assert [(x.awarded_hours, x.used_seconds) for x in prog.lines] == [(1000, 300 * 3600), (200, 0)]
    end = datetime(2026, 2, 2, tzinfo=UTC)
    assert accounting.decayed_usage(ctx, end) == {"beta": 300.0}
    assert accounting.decayed_usage(ctx, end + timedelta(days=7)) == {"beta": pytest.approx(150.0)}
    assert accounting.decayed_usage(ctx, end + timedelta(days=2), half_life_days=1) == {
        "beta": pytest.approx(75.0)
    }


def test_statements_sum_across_scopes(ctx: ServiceContext) -> None:
    full_flow(ctx)
    accounting.record_usage(
        ctx, OPERATOR, "alpha", "h100", 7200, "2026-02-01T00:00:00Z", "2026-02-01T01:00:00Z"
    )
    accounting.record_usage(
        ctx, OPERATOR, "beta", "h200", 3600, "2026-02-01T00:00:00Z", "2026-02-01T01:00:00Z"
    )

    def total(scope: str) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for s in accounting.statements(ctx, scope):
            for x in s.lines:
                a, u = out.get(x.accelerator_type, (0, 0))
                out[x.accelerator_type] = (a + x.awarded_hours, u + x.used_seconds)
        return out

    assert (
        total("project")
        == total("member")
        == total("programme")
        == {"h100": (1000, 7200), "h200": (200, 3600)}
    )


def test_replay_matches_after_full_flow(ctx: ServiceContext) -> None:
    full_flow(ctx)
    accounting.record_usage(
        ctx, OPERATOR, "alpha", "h100", 7200, "2026-02-01T00:00:00Z", "2026-02-01T01:00:00Z"
    )
    calls.set_billing_weights(ctx, OPERATOR, {"h100": "1.0"})
    report = check_replay(ctx.db)
    assert report.ok, report.diffs
    assert report.rows["awards"] == 2
