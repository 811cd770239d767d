"""Shared setup for allocation tests: members, programmes, a call, proposals, reviews, awards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import awards, calls, identity, programmes, reviews
from pnyx.services.context import ServiceContext
from pnyx.store import tables as t

OPERATOR = Actor.system()
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINE = "2026-01-01T01:00:00+00:00"
REVIEW_DEADLINE = "2026-01-01T02:00:00+00:00"


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def set_time(ctx: ServiceContext, moment: datetime) -> None:
    """Move the test's FakeClock (conftest) to ``moment``."""
    ctx.clock.now = moment  # type: ignore[attr-defined]


def person(ctx: ServiceContext, pid: str, role: Role, member: str | None) -> Actor:
    identity.create_principal(
        ctx, OPERATOR, NewPrincipal(pid, pid.title(), frozenset({role}), member)
    )
    return Actor(pid, frozenset({role}), member)


def setup(
    ctx: ServiceContext, budget: dict[str, int] | None = None, min_reviewers: int = 2
) -> None:
    """Members de/fr/it, the default programmes, a call under open-models."""
    for m in ("de", "fr", "it"):
        identity.admit_member(ctx, OPERATOR, m, m.upper())
    programmes.ensure_programmes(ctx)
    calls.open_call(ctx, OPERATOR, call_spec(budget or {"h100": 1000, "h200": 500}, min_reviewers))


def call_spec(budget: dict[str, int], min_reviewers: int = 2, call_id: str = "c1") -> CallSpec:
    return CallSpec(
        call_id=call_id,
        programme_id="open-models",
        title="Open models 2026",
        budget=budget,
        period_start="2026-02-01",
        period_end="2026-12-31",
        deadline=DEADLINE,
        review_deadline=REVIEW_DEADLINE,
        policy=ReviewPolicy(min_reviewers=min_reviewers, threshold="3"),
    )


def proposal(project: str, requested: dict[str, int], **kw: object) -> ProposalSpec:
    return ProposalSpec(
        call_id="c1",
        project_id=project,
        title=f"Project {project}",
        abstract="We train an open model.",
        requested=requested,
        containment=ContainmentLevel.CL1,
        **kw,  # type: ignore[arg-type]
    )


def reviewers(ctx: ServiceContext) -> dict[str, Actor]:
    return {
        pid: person(ctx, pid, Role.REVIEWER, member)
        for pid, member in (("rev-de", "de"), ("rev-fr", "fr"), ("rev-it", "it"), ("rev-it2", "it"))
    }


def full_flow(ctx: ServiceContext) -> dict[str, str]:
    """Three proposals (de, fr, it), reviews, awards; returns proposal id by project."""
    setup(ctx, {"h100": 1000, "h200": 500})
    revs = reviewers(ctx)
    ids = {}
    for project, member, req in (
        ("alpha", "de", {"h100": 600}),
        ("beta", "fr", {"h100": 600, "h200": 200}),
        ("gamma", "it", {"h100": 300, "h200": 400}),
    ):
        who = person(ctx, f"res-{project}", Role.RESEARCHER, member)
        ids[project] = calls.submit_proposal(ctx, who, proposal(project, req)).proposal_id
    set_time(ctx, T0 + timedelta(hours=1, seconds=1))
    plan = reviews.assign_reviewers(ctx, OPERATOR, "c1")
    score = {"alpha": 5, "beta": 4, "gamma": 2}
    for project, pid in ids.items():
        for rid in plan[pid]:
            reviews.record_review(ctx, revs[rid], pid, score[project], "ok")
    set_time(ctx, T0 + timedelta(hours=2, seconds=1))
    awards.publish_awards(ctx, OPERATOR, "c1")
    return ids
