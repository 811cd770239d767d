"""Calls for proposals and proposals: the first half of the Waldur/EuroHPC allocation flow.

A call belongs to a programme and offers a budget of accelerator-hours per accelerator type for
a period; researchers submit proposals before its deadline. The submission and review phases
end at their deadlines, or earlier when an operator closes them (``CallPhaseClosed``: the demo
uses this instead of waiting). Pure: times are passed in, never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.events import Event, event_type
from pnyx.domain.ids import parse_slug
from pnyx.domain.inventory import AcceleratorType
from pnyx.domain.programmes import OPEN_MODELS
from pnyx.errors import ConflictError, InvalidInputError

MAX_TEXT = 5000


def parse_hours(raw: dict[str, Any], what: str) -> dict[str, int]:
    """Accelerator-hours per type: known types, positive integers, at least one; sorted keys."""
    if not isinstance(raw, dict) or not raw:
        raise InvalidInputError(f"{what}: give accelerator-hours per type, e.g. {{'h100': 1000}}")
    out: dict[str, int] = {}
    for key, hours in raw.items():
        try:
            kind = AcceleratorType(key)
        except ValueError:
            known = ", ".join(t.value for t in AcceleratorType)
            raise InvalidInputError(
                f"{what}: unknown accelerator type {key!r} (known: {known})"
            ) from None
        if type(hours) is not int or hours <= 0:
            raise InvalidInputError(
                f"{what}: hours for {key} must be a positive integer, got {hours!r}"
            )
        out[kind.value] = hours
    return dict(sorted(out.items()))


def parse_instant(value: str, what: str) -> datetime:
    """An RFC 3339 time with a zone (e.g. 2026-03-01T12:00:00Z)."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what}: {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidInputError(f"{what}: {value!r} has no time zone (add Z or +00:00)")
    return moment


def parse_day(value: str, what: str) -> date:
    """An ISO date (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what}: {value!r} is not a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class ReviewPolicy:
    """How proposals of a call are reviewed: reviewers per proposal, score scale, threshold."""

    min_reviewers: int = 2
    score_min: int = 1
    score_max: int = 5
    threshold: str = "3"  # a decimal; a proposal's mean score must reach it

    def __post_init__(self) -> None:
        if not 1 <= self.min_reviewers <= 10:
            raise InvalidInputError(f"min_reviewers must be 1-10, got {self.min_reviewers}")
        if not self.score_min < self.score_max:
            raise InvalidInputError(
                f"score scale {self.score_min}-{self.score_max}: "
                "the minimum must be below the maximum"
            )
        if not self.score_min <= self.threshold_value <= self.score_max:
            raise InvalidInputError(
                f"threshold {self.threshold} must lie in the score scale "
                f"{self.score_min}-{self.score_max}"
            )

    @property
    def threshold_value(self) -> Fraction:
        """The threshold as an exact number."""
        try:
            return Fraction(self.threshold)
        except (ValueError, ZeroDivisionError):
            raise InvalidInputError(
                f"threshold {self.threshold!r} is not a decimal number"
            ) from None


@dataclass(frozen=True)
class CallSpec:
    """A validated call for proposals."""

    call_id: str
    programme_id: str
    title: str
    budget: dict[str, int]  # accelerator-hours per type
    period_start: str
    period_end: str
    deadline: str  # submissions close
    review_deadline: str  # reviews close
    policy: ReviewPolicy = field(default_factory=ReviewPolicy)

    def __post_init__(self) -> None:
        parse_slug(self.call_id, "call id")
        parse_slug(self.programme_id, "programme id")
        _check_text(self.title, "call title", 200)
        object.__setattr__(self, "budget", parse_hours(self.budget, "call budget"))
        if parse_day(self.period_end, "period end") <= parse_day(self.period_start, "period start"):
            raise InvalidInputError(
                f"period end {self.period_end} must follow start {self.period_start}"
            )
        if parse_instant(self.review_deadline, "review deadline") <= parse_instant(
            self.deadline, "deadline"
        ):
            raise InvalidInputError(
                f"review deadline {self.review_deadline} must follow the deadline {self.deadline}"
            )


@dataclass(frozen=True)
class ProposalSpec:
    """A validated proposal (the proposer and the member it counts for come from the caller)."""

    call_id: str
    project_id: str
    title: str
    abstract: str
    requested: dict[str, int]
    containment: ContainmentLevel
    datasets: tuple[str, ...] = ()
    weights_open: bool = True
    data_open: bool = True

    def __post_init__(self) -> None:
        parse_slug(self.call_id, "call id")
        parse_slug(self.project_id, "project id")
        _check_text(self.title, "proposal title", 200)
        _check_text(self.abstract, "proposal abstract", MAX_TEXT)
        object.__setattr__(self, "requested", parse_hours(self.requested, "requested hours"))
        object.__setattr__(self, "containment", parse_containment(self.containment))
        for ds in self.datasets:
            _check_text(ds, "dataset", 200)


@event_type
@dataclass(frozen=True)
class CallOpened(Event):
    """An operator opens a call for proposals."""

    KIND = "call.opened"
    call_id: str
    programme_id: str
    title: str
    budget: dict[str, int]
    period_start: str
    period_end: str
    deadline: str
    review_deadline: str
    min_reviewers: int
    score_min: int
    score_max: int
    threshold: str
    budget_credits: dict[str, int]  # when the budget was given in credits ({} otherwise)
    billing_version: int  # the billing-weight table that converted them (0: defaults)


@event_type
@dataclass(frozen=True)
class CallPhaseClosed(Event):
    """An operator ends a call's submission or review phase before its deadline."""

    KIND = "call.phase_closed"
    call_id: str
    phase: str  # "submission" | "review"


@event_type
@dataclass(frozen=True)
class ProposalSubmitted(Event):
    """A researcher submits a proposal to an open call."""

    KIND = "proposal.submitted"
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


PHASES = ("submission", "review")


@dataclass(frozen=True)
class CallState:
    """What services know about a call when deciding."""

    spec: CallSpec
    closed: frozenset[str] = frozenset()  # phases closed early
    published: bool = False

    def submissions_open(self, now: datetime) -> bool:
        """Proposals are accepted until the deadline or an early close."""
        return "submission" not in self.closed and now < parse_instant(self.spec.deadline, "")

    def reviews_open(self, now: datetime) -> bool:
        """Reviews are accepted until the review deadline, an early close or publication."""
        if self.published or "review" in self.closed:
            return False
        return now < parse_instant(self.spec.review_deadline, "")


def decide_open_call(
    spec: CallSpec,
    exists: bool,
    programme_exists: bool,
    budget_credits: dict[str, int] | None = None,
    billing_version: int = 0,
) -> CallOpened:
    """The event opening ``spec``, or raise (``budget_credits``: what its budget was given in)."""
    if exists:
        raise ConflictError(f"call {spec.call_id!r} already exists")
    if not programme_exists:
        raise InvalidInputError(f"programme {spec.programme_id!r} does not exist")
    p = spec.policy
    return CallOpened(
        call_id=spec.call_id,
        programme_id=spec.programme_id,
        title=spec.title,
        budget=spec.budget,
        period_start=spec.period_start,
        period_end=spec.period_end,
        deadline=spec.deadline,
        review_deadline=spec.review_deadline,
        min_reviewers=p.min_reviewers,
        score_min=p.score_min,
        score_max=p.score_max,
        threshold=p.threshold,
        budget_credits=dict(sorted((budget_credits or {}).items())),
        billing_version=billing_version,
    )


def decide_close_phase(call: CallState, phase: str, now: datetime) -> CallPhaseClosed:
    """End a phase early; refuse an unknown phase, a closed one, or reviews before submissions."""
    if phase not in PHASES:
        raise InvalidInputError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    if phase in call.closed:
        raise ConflictError(f"the {phase} phase of {call.spec.call_id} is already closed")
    if phase == "review" and call.submissions_open(now):
        raise ConflictError("close the submission phase before the review phase")
    return CallPhaseClosed(call_id=call.spec.call_id, phase=phase)


def decide_submit(
    call: CallState,
    spec: ProposalSpec,
    proposal_id: str,
    proposer_id: str,
    member_id: str | None,
    now: datetime,
) -> ProposalSubmitted:
    """The event submitting a proposal, or raise saying why it is refused.

    Refused: after the deadline; without a member affiliation; types the budget does not cover;
    and, for the open-models programme, without committing to release both weights and data.
    """
    if not call.submissions_open(now):
        raise ConflictError(f"call {call.spec.call_id} is closed for submissions")
    if member_id is None:
        raise InvalidInputError("the proposer has no member state: give member_id")
    extra = sorted(set(spec.requested) - set(call.spec.budget))
    if extra:
        raise InvalidInputError(
            f"requested types {extra} are not in the call's budget ({sorted(call.spec.budget)})"
        )
    if call.spec.programme_id == OPEN_MODELS and not (spec.weights_open and spec.data_open):
        raise InvalidInputError(
            "the open-models programme requires releasing both weights and training data "
            f"(weights_open={spec.weights_open}, data_open={spec.data_open})"
        )
    return ProposalSubmitted(
        proposal_id=proposal_id,
        call_id=spec.call_id,
        proposer_id=proposer_id,
        member_id=member_id,
        project_id=spec.project_id,
        title=spec.title,
        abstract=spec.abstract,
        requested=spec.requested,
        containment=spec.containment.value,
        datasets=list(spec.datasets),
        weights_open=spec.weights_open,
        data_open=spec.data_open,
    )


def _check_text(value: str, what: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInputError(f"{what} must be 1-{limit} characters")
