"""Programmes, calls, proposals, reviews, awards, usage, statements and billing weights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from pnyx.api.deps import Caller, Ctx
from pnyx.api.schemas_allocation import (
    CallIn,
    ConflictIn,
    PhaseIn,
    ProgrammeIn,
    ProposalIn,
    ReviewIn,
    UsageIn,
    WeightsIn,
)
from pnyx.domain.allocation import CallSpec, ProposalSpec, ReviewPolicy
from pnyx.domain.containment import parse_containment
from pnyx.services import accounting, awards, calls, programmes, reviews, statement_shares
from pnyx.services.allocation_dto import (
    AwardView,
    BillingWeightsView,
    CallView,
    ProposalView,
    ReviewView,
    StatementView,
    UsageView,
)
from pnyx.services.programmes import ProgrammeView
from pnyx.services.share_dto import MemberShareHistory

router = APIRouter(prefix="/api/v1", tags=["allocation"])


@router.get("/programmes")
def list_programmes(ctx: Ctx) -> list[ProgrammeView]:
    """Every programme."""
    return programmes.list_programmes(ctx)


@router.post("/programmes", status_code=status.HTTP_201_CREATED)
def declare_programme(body: ProgrammeIn, ctx: Ctx, actor: Caller) -> ProgrammeView:
    """Declare a programme (operators)."""
    return programmes.declare_programme(ctx, actor, body.programme_id, body.name, body.description)


@router.get("/calls")
def list_calls(ctx: Ctx) -> list[CallView]:
    """Every call, newest first."""
    return calls.list_calls(ctx)


@router.post("/calls", status_code=status.HTTP_201_CREATED)
def open_call(body: CallIn, ctx: Ctx, actor: Caller) -> CallView:
    """Open a call (operators)."""
    policy = ReviewPolicy(body.min_reviewers, body.score_min, body.score_max, body.threshold)
    spec = CallSpec(
        body.call_id,
        body.programme_id,
        body.title,
        body.budget,
        body.period_start,
        body.period_end,
        body.deadline,
        body.review_deadline,
        policy,
    )
    return calls.open_call(ctx, actor, spec, in_credits=body.in_credits)


@router.get("/calls/{call_id}")
def get_call(call_id: str, ctx: Ctx) -> CallView:
    """One call."""
    return calls.get_call(ctx, call_id)


@router.post("/calls/{call_id}/close")
def close_phase(call_id: str, body: PhaseIn, ctx: Ctx, actor: Caller) -> CallView:
    """End the submission or review phase now (operators)."""
    return calls.close_phase(ctx, actor, call_id, body.phase)


@router.get("/calls/{call_id}/proposals")
def list_proposals(call_id: str, ctx: Ctx) -> list[ProposalView]:
    """A call's proposals, with scores and outcomes once published."""
    return calls.list_proposals(ctx, call_id)


@router.post("/calls/{call_id}/proposals", status_code=status.HTTP_201_CREATED)
def submit_proposal(call_id: str, body: ProposalIn, ctx: Ctx, actor: Caller) -> ProposalView:
    """Submit a proposal (researchers, before the deadline)."""
    spec = ProposalSpec(
        call_id,
        body.project_id,
        body.title,
        body.abstract,
        body.requested,
        parse_containment(body.containment),
        tuple(body.datasets),
        body.weights_open,
        body.data_open,
    )
    return calls.submit_proposal(ctx, actor, spec, body.member_id)


@router.post("/calls/{call_id}/assign")
def assign_reviewers(call_id: str, ctx: Ctx, actor: Caller) -> dict[str, list[str]]:
    """Assign reviewers automatically (operators, after the deadline)."""
    return reviews.assign_reviewers(ctx, actor, call_id)


@router.get("/calls/{call_id}/assignments")
def list_assignments(call_id: str, ctx: Ctx) -> dict[str, list[str]]:
    """Who reviews which proposal."""
    return reviews.list_assignments(ctx, call_id)


@router.get("/calls/{call_id}/reviews")
def list_reviews(call_id: str, ctx: Ctx, actor: Caller) -> list[ReviewView]:
    """Reviews with comments (operators)."""
    return reviews.list_reviews(ctx, actor, call_id)


@router.post("/calls/{call_id}/awards", status_code=status.HTTP_201_CREATED)
def publish_awards(call_id: str, ctx: Ctx, actor: Caller) -> list[AwardView]:
    """Rank the proposals and publish the awards (operators, after the review phase)."""
    return awards.publish_awards(ctx, actor, call_id)


@router.post("/proposals/{proposal_id}/conflicts", status_code=status.HTTP_204_NO_CONTENT)
def declare_conflict(proposal_id: str, body: ConflictIn, ctx: Ctx, actor: Caller) -> None:
    """Declare a conflict of interest (the reviewer, or an operator for one)."""
    reviews.declare_conflict(ctx, actor, proposal_id, body.reason, body.reviewer_id)


@router.post("/proposals/{proposal_id}/reviews", status_code=status.HTTP_201_CREATED)
def record_review(proposal_id: str, body: ReviewIn, ctx: Ctx, actor: Caller) -> ReviewView:
    """Score a proposal (assigned reviewers; again to amend)."""
    return reviews.record_review(ctx, actor, proposal_id, body.score, body.comment)


@router.get("/awards")
def list_awards(ctx: Ctx, call_id: str | None = None) -> list[AwardView]:
    """Every award (or one call's)."""
    return awards.list_awards(ctx, call_id)


@router.get("/usage")
def list_usage(ctx: Ctx) -> list[UsageView]:
    """Every usage record."""
    return accounting.list_usage(ctx)


@router.post("/usage", status_code=status.HTTP_201_CREATED)
def record_usage(body: UsageIn, ctx: Ctx, actor: Caller) -> UsageView:
    """Record usage (operators and the backend)."""
    return accounting.record_usage(
        ctx,
        actor,
        body.project_id,
        body.accelerator_type,
        body.accel_seconds,
        body.start,
        body.end,
        body.job_id,
    )


@router.get("/usage/admission")
def check_admission(
    ctx: Ctx,
    project_id: str,
    accelerator_type: str,
    accelerators: Annotated[int, Query(description="accelerators the job holds")],
    time_limit_s: Annotated[int, Query(description="the job's time limit in seconds")],
) -> dict[str, bool]:
    """Whether a job would be admitted against the project's remaining hours (public, like the
    statements): {"admitted": true}, or 403 with the reason; 422 for a non-positive size."""
    accounting.check_admission(ctx, project_id, accelerator_type, accelerators, time_limit_s)
    return {"admitted": True}


@router.get("/statements/{scope}")
def list_statements(scope: str, ctx: Ctx) -> list[StatementView]:
    """Statements of every project, member or programme with awards."""
    return accounting.statements(ctx, scope)


@router.get("/statements/{scope}/{scope_id}")
def get_statement(scope: str, scope_id: str, ctx: Ctx) -> StatementView:
    """Awarded, used and remaining hours per type."""
    return accounting.statement(ctx, scope, scope_id)


@router.get("/statements/member/{member_id}/shares")
def get_member_shares(member_id: str, ctx: Ctx) -> MemberShareHistory:
    """A member's delivered share per day (usage records) against its enacted share."""
    return statement_shares.share_history_of(ctx, member_id)


@router.get("/billing-weights")
def get_billing_weights(ctx: Ctx) -> BillingWeightsView:
    """The billing-weight table in force."""
    return calls.billing_weights(ctx)


@router.put("/billing-weights")
def set_billing_weights(body: WeightsIn, ctx: Ctx, actor: Caller) -> BillingWeightsView:
    """Publish a new billing-weight table (operators)."""
    return calls.set_billing_weights(ctx, actor, dict(body.weights))
