"""Reviews: automatic reviewer assignment with conflict-of-interest rules, and scores.

Assignment is deterministic: for the same proposals, reviewers, conflicts and seed (the call
id) it always gives the same result. Proposals are taken in order of a seeded hash; each gets
the ``k`` eligible reviewers with the lowest load so far, ties broken by a seeded hash of
(reviewer, proposal). Eligible means: not the proposer, not of the proposer's member state, no
declared conflict. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pnyx.domain.events import Event, event_type
from pnyx.errors import ConflictError, InvalidInputError

MAX_COMMENT = 5000


@dataclass(frozen=True)
class Candidate:
    """A proposal to be reviewed, with what conflict rules need."""

    proposal_id: str
    proposer_id: str
    member_id: str


@dataclass(frozen=True)
class Reviewer:
    """A principal with the reviewer role and its member state (None: no affiliation)."""

    reviewer_id: str
    member_id: str | None


@event_type
@dataclass(frozen=True)
class ConflictDeclared(Event):
    """A reviewer declares a conflict of interest with a proposal."""

    KIND = "review.conflict_declared"
    call_id: str
    proposal_id: str
    reviewer_id: str
    reason: str


@event_type
@dataclass(frozen=True)
class ReviewersAssigned(Event):
    """Reviewers were assigned to every proposal of a call (proposal id -> reviewer ids)."""

    KIND = "review.assigned"
    call_id: str
    assignments: dict[str, list[str]]


@event_type
@dataclass(frozen=True)
class ReviewRecorded(Event):
    """An assigned reviewer scores a proposal (a later one from the same reviewer amends it)."""

    KIND = "review.recorded"
    call_id: str
    proposal_id: str
    reviewer_id: str
    score: int
    comment: str


def _key(seed: str, *parts: str) -> str:
    return hashlib.sha256("\x00".join((seed, *parts)).encode()).hexdigest()


def is_eligible(reviewer: Reviewer, cand: Candidate, conflicts: set[tuple[str, str]]) -> bool:
    """The conflict-of-interest rules: not self, not the same member, no declared conflict."""
    return (
        reviewer.reviewer_id != cand.proposer_id
        and reviewer.member_id != cand.member_id
        and (reviewer.reviewer_id, cand.proposal_id) not in conflicts
    )


def assign_reviewers(
    candidates: Sequence[Candidate],
    reviewers: Sequence[Reviewer],
    conflicts: set[tuple[str, str]],
    k: int,
    seed: str,
) -> dict[str, list[str]]:
    """proposal id -> ``k`` reviewer ids (sorted); raise if a proposal has fewer than ``k``
    eligible reviewers."""
    load = {r.reviewer_id: 0 for r in reviewers}
    out: dict[str, list[str]] = {}
    for cand in sorted(candidates, key=lambda c: _key(seed, c.proposal_id)):
        eligible = [r for r in reviewers if is_eligible(r, cand, conflicts)]
        if len(eligible) < k:
            raise ConflictError(
                f"proposal {cand.proposal_id} has {len(eligible)} eligible reviewers, "
                f"the call needs {k}: add reviewers from other member states"
            )
        eligible.sort(
            key=lambda r: (load[r.reviewer_id], _key(seed, r.reviewer_id, cand.proposal_id))
        )
        chosen = [r.reviewer_id for r in eligible[:k]]
        for rid in chosen:
            load[rid] += 1
        out[cand.proposal_id] = sorted(chosen)
    return dict(sorted(out.items()))


def decide_review(
    call_id: str,
    proposal_id: str,
    reviewer_id: str,
    score: int,
    comment: str,
    assigned: Mapping[str, Sequence[str]],
    scale: tuple[int, int],
) -> ReviewRecorded:
    """The event recording a score, or raise (not assigned, out of scale, comment too long)."""
    if reviewer_id not in assigned.get(proposal_id, ()):
        raise ConflictError(f"{reviewer_id} is not assigned to review {proposal_id}")
    low, high = scale
    if type(score) is not int or not low <= score <= high:
        raise InvalidInputError(f"score must be an integer {low}-{high}, got {score!r}")
    if len(comment) > MAX_COMMENT:
        raise InvalidInputError(f"comment must be at most {MAX_COMMENT} characters")
    return ReviewRecorded(call_id, proposal_id, reviewer_id, score, comment)
