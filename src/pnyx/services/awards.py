"""Use cases for awards: rank a call's proposals and publish the awards, list them."""

from __future__ import annotations

from typing import Any

from pnyx.domain import accounting as acc
from pnyx.domain import awards as aw
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import ConflictError, NotFoundError
from pnyx.services.allocation_dto import AwardView
from pnyx.services.calls import call_state, current_weights
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import allocation_repo as repo


def publish_awards(ctx: ServiceContext, actor: Actor, call_id: str) -> list[AwardView]:
    """Rank the proposals by mean score and fill the budget per type (operators; once, after
    the review phase). The results event carries every score, mean, rank and outcome."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        row = repo.call_row(conn, call_id)
        if row is None:
            raise NotFoundError(f"call {call_id!r} does not exist")
        state = call_state(row)
        if row["published"]:
            raise ConflictError(f"results of {call_id} are already published")
        if not row["assigned"]:
            raise ConflictError(f"reviewers of {call_id} are not assigned yet")
        if state.reviews_open(ctx.clock()):
            raise ConflictError(f"reviews of {call_id} are open until {row['review_deadline']}")
        scored = _scored(repo.proposal_rows(conn, call_id), repo.review_rows(conn, call_id))
        policy = state.spec.policy
        event = aw.decide_awards(
            call_id, scored, row["budget"], policy.min_reviewers, policy.threshold_value
        )
        record(conn, ctx, actor, [event])
        _, weights = current_weights(conn)
        return [award_view(a, weights) for a in repo.award_rows(conn, call_id=call_id)]


def list_awards(ctx: ServiceContext, call_id: str | None = None) -> list[AwardView]:
    """Every award (or a call's), by id (public)."""
    where = {"call_id": call_id} if call_id else {}
    with ctx.db.read() as conn:
        _, weights = current_weights(conn)
        return [award_view(a, weights) for a in repo.award_rows(conn, **where)]


def award_view(row: dict[str, Any], weights: dict[str, str]) -> AwardView:
    """The public view of an award row, its cost in credits at ``weights``."""
    credits = aw.format_decimal(acc.hours_to_credits(row["hours"], weights))
    fields = {k: v for k, v in row.items() if k in AwardView.model_fields}
    return AwardView(**fields, credits=credits)


def _scored(proposals: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> list[aw.Scored]:
    scores: dict[str, list[int]] = {}
    for r in reviews:  # ordered by proposal, then reviewer
        scores.setdefault(r["proposal_id"], []).append(int(r["score"]))
    return [
        aw.Scored(
            p["proposal_id"],
            p["submitted_seq"],
            p["requested"],
            tuple(scores.get(p["proposal_id"], ())),
        )
        for p in proposals
    ]
