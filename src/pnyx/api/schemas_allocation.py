"""Request bodies of the allocation API (unknown fields are refused)."""

from __future__ import annotations

from pydantic import Field

from pnyx.api.schemas import Body


class ProgrammeIn(Body):
    """Declare a programme."""

    programme_id: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class CallIn(Body):
    """Open a call: budget in accelerator-hours per type (or in credits with in_credits)."""

    call_id: str = Field(min_length=1, max_length=63)
    programme_id: str = Field(min_length=1, max_length=63)
    title: str = Field(min_length=1, max_length=200)
    budget: dict[str, int]
    in_credits: bool = False
    period_start: str
    period_end: str
    deadline: str
    review_deadline: str
    min_reviewers: int = 2
    score_min: int = 1
    score_max: int = 5
    threshold: str = "3"


class PhaseIn(Body):
    """Close a call's phase early."""

    phase: str


class ProposalIn(Body):
    """Submit a proposal."""

    project_id: str = Field(min_length=1, max_length=63)
    title: str = Field(min_length=1, max_length=200)
    abstract: str = Field(min_length=1, max_length=5000)
    requested: dict[str, int]
    containment: str = "CL-1"
    datasets: list[str] = Field(default_factory=list, max_length=100)
    weights_open: bool = True
    data_open: bool = True
    member_id: str | None = None


class ConflictIn(Body):
    """Declare a conflict of interest."""

    reason: str = Field(min_length=1, max_length=1000)
    reviewer_id: str | None = None


class ReviewIn(Body):
    """Score a proposal."""

    score: int
    comment: str = Field(default="", max_length=5000)


class UsageIn(Body):
    """A usage record."""

    project_id: str = Field(min_length=1, max_length=63)
    accelerator_type: str
    accel_seconds: int
    start: str
    end: str
    job_id: str = Field(default="", max_length=200)


class WeightsIn(Body):
    """A new billing-weight table (type -> decimal weight)."""

    weights: dict[str, str]
