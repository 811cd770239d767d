"""Use cases for reviews: declare conflicts, assign reviewers automatically, record scores."""

from __future__ import annotations

from pnyx.domain import review as rv
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.services.allocation_dto import ReviewView
from pnyx.services.calls import call_state
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import allocation_repo as repo


def declare_conflict(
    ctx: ServiceContext, actor: Actor, proposal_id: str, reason: str, reviewer_id: str | None = None
) -> None:
    """A reviewer declares a conflict with a proposal (or an operator for ``reviewer_id``),
    before reviewers are assigned."""
    reviewer = reviewer_id or actor.principal_id
    if reviewer == actor.principal_id:
        require_role(actor, Role.REVIEWER)
    else:
        require_role(actor, Role.OPERATOR)
    if not reason.strip() or len(reason) > 1000:
        raise InvalidInputError("a conflict needs a reason of 1-1000 characters")
    with ctx.db.transaction() as conn:
        prop = repo.proposal_row(conn, proposal_id)
        if prop is None:
            raise NotFoundError(f"proposal {proposal_id!r} does not exist")
        call = repo.call_row(conn, prop["call_id"])
        assert call is not None
        if call["assigned"]:
            raise ConflictError(f"reviewers of {prop['call_id']} are already assigned")
        if (reviewer, proposal_id) in repo.conflict_pairs(conn, prop["call_id"]):
            raise ConflictError(f"{reviewer} already declared a conflict with {proposal_id}")
        event = rv.ConflictDeclared(prop["call_id"], proposal_id, reviewer, reason.strip())
        record(conn, ctx, actor, [event])


def assign_reviewers(ctx: ServiceContext, actor: Actor, call_id: str) -> dict[str, list[str]]:
    """Assign reviewers to every proposal of a closed call (operators; once), deterministically
    (seeded by the call id), balancing load and respecting conflicts of interest."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        row = repo.call_row(conn, call_id)
        if row is None:
            raise NotFoundError(f"call {call_id!r} does not exist")
        if call_state(row).submissions_open(ctx.clock()):
            raise ConflictError(f"call {call_id} still accepts proposals until {row['deadline']}")
        if row["assigned"]:
            raise ConflictError(f"reviewers of {call_id} are already assigned")
        candidates = [
            rv.Candidate(p["proposal_id"], p["proposer_id"], p["member_id"])
            for p in repo.proposal_rows(conn, call_id)
        ]
        reviewers = [
            rv.Reviewer(r["principal_id"], r["member_id"]) for r in repo.reviewer_rows(conn)
        ]
        conflicts = repo.conflict_pairs(conn, call_id)
        plan = rv.assign_reviewers(candidates, reviewers, conflicts, row["min_reviewers"], call_id)
        record(conn, ctx, actor, [rv.ReviewersAssigned(call_id, plan)])
    return plan


def record_review(
    ctx: ServiceContext, actor: Actor, proposal_id: str, score: int, comment: str = ""
) -> ReviewView:
    """An assigned reviewer scores a proposal; scoring again before the review deadline amends."""
    require_role(actor, Role.REVIEWER)
    with ctx.db.transaction() as conn:
        prop = repo.proposal_row(conn, proposal_id)
        if prop is None:
            raise NotFoundError(f"proposal {proposal_id!r} does not exist")
        call_id = prop["call_id"]
        row = repo.call_row(conn, call_id)
        assert row is not None
        if not call_state(row).reviews_open(ctx.clock()):
            raise ConflictError(f"reviews of {call_id} are closed")
        scale = (row["score_min"], row["score_max"])
        assigned = repo.assignments(conn, call_id)
        event = rv.decide_review(
            call_id, proposal_id, actor.principal_id, score, comment, assigned, scale
        )
        record(conn, ctx, actor, [event])
        mine = [
            r
            for r in repo.review_rows(conn, call_id)
            if r["proposal_id"] == proposal_id and r["reviewer_id"] == actor.principal_id
        ]
    return _view(mine[0])


def list_reviews(ctx: ServiceContext, actor: Actor, call_id: str) -> list[ReviewView]:
    """A call's reviews with comments (operators; the public sees scores in the results)."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.read() as conn:
        return [_view(r) for r in repo.review_rows(conn, call_id)]


def list_assignments(ctx: ServiceContext, call_id: str) -> dict[str, list[str]]:
    """proposal id -> assigned reviewer ids (public: who reviewed is on the record anyway)."""
    with ctx.db.read() as conn:
        return repo.assignments(conn, call_id)


def _view(row: dict[str, object]) -> ReviewView:
    return ReviewView(**{k: v for k, v in row.items() if k in ReviewView.model_fields})
