"""The allocation part of ``pnyx demo``: a call, 12 proposals, reviews, awards, usage.

Deadlines follow the context's clock. Rather than wait for them, the demo opens the call with
deadlines a day and two days ahead and then closes the submission and review phases early,
as an operator may (``CallPhaseClosed`` events on the record). Running it again on the same
store changes nothing and reports what is there.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.errors import NotFoundError
from pnyx.services import accounting, awards, calls, identity, programmes, reviews
from pnyx.services.context import ServiceContext

SYSTEM = Actor.system()
CALL_ID = "open-models-2026"
BUDGET = {"h100": 20_000, "h200": 8_000, "b200": 4_000}
MEMBERS = ("de", "fr", "it", "es", "pl")
# (project, member of its researcher, requested hours per type)
PROJECTS: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("polyglot-7b", "de", {"h100": 4000, "h200": 1000}),
    ("code-open-3b", "fr", {"h100": 3000}),
    ("speech-eu", "it", {"h200": 2500, "b200": 500}),
    ("vision-commons", "es", {"h100": 5000, "b200": 1500}),
    ("med-lm-open", "pl", {"h100": 2000, "h200": 1500}),
    ("law-corpus-lm", "de", {"h100": 2500}),
    ("climate-fm", "fr", {"b200": 2000, "h200": 1000}),
    ("tiny-stories-eu", "it", {"h100": 800}),
    ("video-open", "es", {"h100": 6000, "b200": 2000}),
    ("math-reasoner", "pl", {"h200": 3000}),
    ("low-resource-mt", "de", {"h100": 1500, "h200": 500}),
    ("open-rlhf", "fr", {"h100": 2500, "h200": 1000}),
)


def run_allocation_demo(ctx: ServiceContext) -> dict[str, Any]:
    """Run the call-to-statement flow once; return a summary (idempotent)."""
    programmes.ensure_programmes(ctx, SYSTEM)
    if not _call_exists(ctx):
        _create_people(ctx)
        _run_call(ctx)
    return _summary(ctx)


def _call_exists(ctx: ServiceContext) -> bool:
    try:
        calls.get_call(ctx, CALL_ID)
    except NotFoundError:
        return False
    return True


def _create_people(ctx: ServiceContext) -> None:
    existing = {p.principal_id for p in identity.list_principals(ctx, SYSTEM, 0, 500).items}
    people = [(f"rev-{m}", Role.REVIEWER, m) for m in MEMBERS] + [
        (f"res-{m}", Role.RESEARCHER, m) for m in MEMBERS
    ]
    for pid, role, member in people:
        if pid not in existing:
            name = f"{role.value.title()} from {member.upper()}"
            identity.create_principal(
                ctx, SYSTEM, NewPrincipal(pid, name, frozenset({role}), member)
            )


def _actor(pid: str, role: Role, member: str) -> Actor:
    return Actor(pid, frozenset({role}), member)


def _run_call(ctx: ServiceContext) -> None:
    now = ctx.clock()
    spec = CallSpec(
        call_id=CALL_ID,
        programme_id="open-models",
        title="Open foundation models 2026",
        budget=BUDGET,
        period_start=now.date().isoformat(),
        period_end=(now + timedelta(days=365)).date().isoformat(),
        deadline=(now + timedelta(days=1)).isoformat(),
        review_deadline=(now + timedelta(days=2)).isoformat(),
        policy=ReviewPolicy(min_reviewers=3, score_min=1, score_max=5, threshold="3"),
    )
    calls.open_call(ctx, SYSTEM, spec)
    ids = [_submit(ctx, project, member, req) for project, member, req in PROJECTS]
    reviews.declare_conflict(ctx, _actor("rev-it", Role.REVIEWER, "it"), ids[0], "former co-author")
    calls.close_phase(ctx, SYSTEM, CALL_ID, "submission")
    plan = reviews.assign_reviewers(ctx, SYSTEM, CALL_ID)
    for pid, reviewer_ids in plan.items():
        for rid in reviewer_ids:
            actor = _actor(rid, Role.REVIEWER, rid.removeprefix("rev-"))
            reviews.record_review(ctx, actor, pid, _score(rid, pid), "demo review")
    calls.close_phase(ctx, SYSTEM, CALL_ID, "review")
    awards.publish_awards(ctx, SYSTEM, CALL_ID)
    _record_usage(ctx)


def _submit(ctx: ServiceContext, project: str, member: str, req: dict[str, int]) -> str:
    spec = ProposalSpec(
        call_id=CALL_ID,
        project_id=project,
        title=project.replace("-", " ").title(),
        abstract=f"Train and release {project} with its training data.",
        requested=req,
        containment=ContainmentLevel.CL1,
        datasets=(f"{project}-corpus",),
    )
    return calls.submit_proposal(
        ctx, _actor(f"res-{member}", Role.RESEARCHER, member), spec
    ).proposal_id


def _score(reviewer_id: str, proposal_id: str) -> int:
    """A deterministic demo score 2..5."""
    digest = hashlib.sha256(f"{reviewer_id}/{proposal_id}".encode()).digest()
    return 2 + digest[0] % 4


def _record_usage(ctx: ServiceContext) -> None:
    start = ctx.clock() - timedelta(hours=6)
    for award in awards.list_awards(ctx, CALL_ID)[:3]:
        kind, hours = next(iter(award.hours.items()))
        seconds = min(hours, 64 * 6) * 3600 // 2  # half of what 64 accelerators do in 6 h
        end = start + timedelta(hours=6)
        accounting.record_usage(
            ctx, SYSTEM, award.project_id, kind, seconds, start.isoformat(), end.isoformat(),
            f"demo-{award.project_id}",
        )  # fmt: skip


def _summary(ctx: ServiceContext) -> dict[str, Any]:
    props = calls.list_proposals(ctx, CALL_ID)
    got = awards.list_awards(ctx, CALL_ID)
    return {
        "call": CALL_ID,
        "budget": BUDGET,
        "proposals": len(props),
        "reviews": sum(len(p.scores or []) for p in props),
        "awards": [{"project": a.project_id, "member": a.member_id, "hours": a.hours} for a in got],
        "outcomes": {p.project_id: f"{p.outcome} (mean {p.mean})" for p in props},
        "remaining": calls.get_call(ctx, CALL_ID).remaining,
        "statement_open_models": [
            line.model_dump()
            for line in accounting.statement(ctx, "programme", "open-models").lines
        ],
    }
