"""Ranking and awards: mean scores decide the order, the budget is filled per accelerator type.

Ranking: a proposal with fewer reviews than the policy's minimum is not ranked; the others are
ordered by mean score (exact fractions) descending, ties broken by earlier submission (lower
ledger sequence number), then by proposal id. Proposals below the threshold get nothing. In rank
order, each accelerator type's remaining budget pays ``min(requested, remaining)`` hours, so the
proposal at the budget's edge gets a partial award and later ones get what other types have
left. Results carry every figure (scores, mean, rank, outcome) so anyone can redo them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pnyx.domain.events import Event, event_type


class Outcome:
    """Why a proposal got what it got (plain strings in events)."""

    AWARDED = "awarded"
    PARTIAL = "partial"
    BUDGET_EXHAUSTED = "budget-exhausted"
    BELOW_THRESHOLD = "below-threshold"
    TOO_FEW_REVIEWS = "too-few-reviews"


@dataclass(frozen=True)
class Scored:
    """A proposal with its scores and what it asks for."""

    proposal_id: str
    submitted_seq: int
    requested: dict[str, int]
    scores: tuple[int, ...]

    @property
    def mean(self) -> Fraction:
        """The mean score (exact); 0 when there are no scores."""
        return Fraction(sum(self.scores), len(self.scores)) if self.scores else Fraction(0)


@event_type
@dataclass(frozen=True)
class AwardsPublished(Event):
    """A call's results: every proposal's scores, rank and outcome, and the hours awarded.

    ``results`` rows: proposal_id, rank (None when not ranked), scores, mean (decimal string,
    3 places), outcome, hours (per type). ``remaining`` is the budget left over per type.
    """

    KIND = "awards.published"
    call_id: str
    results: list[dict[str, Any]]
    remaining: dict[str, int]


def format_decimal(mean: Fraction) -> str:
    """An exact number as a decimal string with 3 places, rounded half up (means, credits)."""
    milli = (mean * 1000 + Fraction(1, 2)).__floor__()
    return f"{milli // 1000}.{milli % 1000:03d}"


def rank(proposals: Sequence[Scored], min_reviews: int) -> list[Scored]:
    """Proposals with enough reviews, best first (mean desc, submission order, id)."""
    ranked = [p for p in proposals if len(p.scores) >= min_reviews]
    return sorted(ranked, key=lambda p: (-p.mean, p.submitted_seq, p.proposal_id))


def fill_budget(
    ranked: Sequence[Scored], budget: Mapping[str, int], threshold: Fraction
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """(proposal id -> hours per type granted, budget left per type) in rank order."""
    left = dict(budget)
    granted: dict[str, dict[str, int]] = {}
    for prop in ranked:
        if prop.mean < threshold:
            continue
        hours: dict[str, int] = {}
        for kind, want in sorted(prop.requested.items()):
            give = min(want, left.get(kind, 0))
            if give > 0:
                hours[kind] = give
                left[kind] -= give
        granted[prop.proposal_id] = hours
    return granted, left


def decide_awards(
    call_id: str,
    proposals: Sequence[Scored],
    budget: Mapping[str, int],
    min_reviews: int,
    threshold: Fraction,
) -> AwardsPublished:
    """The published results of a call."""
    ranked = rank(proposals, min_reviews)
    granted, left = fill_budget(ranked, budget, threshold)
    position = {p.proposal_id: i + 1 for i, p in enumerate(ranked)}
    rows = [
        _result(p, position.get(p.proposal_id), granted.get(p.proposal_id), threshold)
        for p in sorted(
            proposals, key=lambda p: (position.get(p.proposal_id, 10**9), p.proposal_id)
        )
    ]
    return AwardsPublished(call_id=call_id, results=rows, remaining=dict(sorted(left.items())))


def _result(
    prop: Scored, position: int | None, hours: dict[str, int] | None, threshold: Fraction
) -> dict[str, Any]:
    if position is None:
        outcome = Outcome.TOO_FEW_REVIEWS
    elif prop.mean < threshold:
        outcome = Outcome.BELOW_THRESHOLD
    elif not hours:
        outcome = Outcome.BUDGET_EXHAUSTED
    elif hours == prop.requested:
        outcome = Outcome.AWARDED
    else:
        outcome = Outcome.PARTIAL
    return {
        "proposal_id": prop.proposal_id,
        "rank": position,
        "scores": list(prop.scores),
        "mean": format_decimal(prop.mean),
        "outcome": outcome,
        "hours": dict(sorted((hours or {}).items())),
    }
