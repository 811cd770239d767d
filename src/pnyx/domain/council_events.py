"""Council events: weight tables, resolutions, ballots, closes and what enactment changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pnyx.domain.events import Event, event_type


@event_type
@dataclass(frozen=True)
class WeightTableAdopted(Event):
    """A version of the weight table comes into force (``source``: "operator" or a resolution)."""

    KIND = "council.weights_adopted"
    version: int
    weights: dict[str, dict[str, str]]
    source: str


@event_type
@dataclass(frozen=True)
class ResolutionProposed(Event):
    """A motion opens for voting; ``rule`` is the full rule mapping, ``weights_version`` the
    snapshot its electorate is built from."""

    KIND = "council.resolution_proposed"
    resolution_id: str
    kind: str
    title: str
    terms: dict[str, Any]  # the typed payload of the kind, as JSON
    rule: dict[str, Any]
    weights_version: int
    opens_at: str
    closes_at: str


@event_type
@dataclass(frozen=True)
class BallotCast(Event):
    """A signed ballot: ``signature`` (base64 Ed25519) is over the canonical ballot body."""

    KIND = "council.ballot_cast"
    resolution_id: str
    member_id: str
    choice: str
    cast_at: str
    principal_id: str
    key_id: str
    signature: str


@event_type
@dataclass(frozen=True)
class ResolutionClosed(Event):
    """Voting ended; ``tally`` is the full tally JSON, ``counted`` the ballot seq per member."""

    KIND = "council.resolution_closed"
    resolution_id: str
    passed: bool
    decided_by: str
    tally: dict[str, Any]
    counted: dict[str, int]


@event_type
@dataclass(frozen=True)
class ResolutionEnacted(Event):
    """A passed resolution takes effect (the policy events follow in the same transaction)."""

    KIND = "council.resolution_enacted"
    resolution_id: str
    kind: str


@event_type
@dataclass(frozen=True)
class ProgrammeSharesEnacted(Event):
    """The facility's split among programmes (exact fractions as text)."""

    KIND = "council.programme_shares_enacted"
    resolution_id: str
    shares: dict[str, str]


@event_type
@dataclass(frozen=True)
class MemberSharesEnacted(Event):
    """One programme's split among members."""

    KIND = "council.member_shares_enacted"
    resolution_id: str
    programme_id: str
    shares: dict[str, str]


@event_type
@dataclass(frozen=True)
class ContainmentApproved(Event):
    """The Council approves a project at CL-3 / CL-4."""

    KIND = "council.containment_approved"
    resolution_id: str
    project: str
    level: str


@event_type
@dataclass(frozen=True)
class ReleaseApproved(Event):
    """The Council approves the release of a CL-3 / CL-4 model."""

    KIND = "council.release_approved"
    resolution_id: str
    model: str
    level: str


@event_type
@dataclass(frozen=True)
class RuleChanged(Event):
    """Future resolutions of ``kind`` are voted under ``rule``."""

    KIND = "council.rule_changed"
    resolution_id: str
    kind: str
    rule: dict[str, Any]
