"""What the allocation services return (also the API's response schemas)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CallView(BaseModel):
    """A call for proposals and where it stands."""

    model_config = ConfigDict(frozen=True)
    call_id: str
    programme_id: str
    title: str
    budget: dict[str, int]
    budget_credits: dict[str, int]
    billing_version: int
    period_start: str
    period_end: str
    deadline: str
    review_deadline: str
    min_reviewers: int
    score_min: int
    score_max: int
    threshold: str
    closed_phases: list[str]
    assigned: bool
    published: bool
    remaining: dict[str, int] | None
    opened_at: str


class ProposalView(BaseModel):
    """A proposal; rank, mean, scores and outcome appear once results are published."""

    model_config = ConfigDict(frozen=True)
    proposal_id: str
    call_id: str
    proposer_id: str
    member_id: str
    project_id: str
    title: str
    abstract: str
    requested: dict[str, int]
    containment: str
    datasets: list[str]
    weights_open: bool
    data_open: bool
    submitted_at: str
    rank: int | None
    mean: str | None
    outcome: str | None
    scores: list[int] | None


class ReviewView(BaseModel):
    """A reviewer's current score of a proposal."""

    proposal_id: str
    reviewer_id: str
    score: int
    comment: str
    versions: int
    recorded_at: str


class AwardView(BaseModel):
    """Accelerator-hours per type awarded to a project for a period, at a containment level."""

    model_config = ConfigDict(frozen=True)
    award_id: str
    call_id: str
    programme_id: str
    project_id: str
    member_id: str
    containment: str
    period_start: str
    period_end: str
    hours: dict[str, int]
    credits: str  # what the hours cost at the current billing weights (decimal)
    awarded_at: str


class UsageView(BaseModel):
    """A usage record."""

    usage_id: str
    project_id: str
    accelerator_type: str
    accel_seconds: int
    start: str
    end: str
    job_id: str
    recorded_at: str


class StatementLine(BaseModel):
    """Awarded, used and remaining accelerator-hours of one type."""

    accelerator_type: str
    awarded_hours: int
    used_seconds: int
    used_hours: float
    remaining_hours: float


class StatementView(BaseModel):
    """A statement for a member, a programme or a project."""

    scope: str  # "member" | "programme" | "project"
    scope_id: str
    lines: list[StatementLine]


class BillingWeightsView(BaseModel):
    """The billing-weight table in force (version 0: the built-in defaults)."""

    version: int
    weights: dict[str, str]
