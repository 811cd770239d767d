"""Council resolutions: kinds with typed payloads, weight tables, voting windows (pure).

A resolution is a motion of one :class:`ResolutionKind` whose payload is parsed into a typed,
validated object on construction (:func:`parse_payload`); invalid payloads never exist. Weight
tables are versioned; a resolution snapshots the version in force when voting opens (at
proposal) and its electorate is built from that version alone, so a recount needs nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.governance import Electorate, Member, load_rule, parse_fraction
from pnyx.domain.governance.rules import Rule
from pnyx.domain.ids import parse_slug
from pnyx.errors import InvalidInputError

WEIGHT_KEYS = ("population", "contribution", "accelerators")
MAX_VOTING_DAYS = 366


class ResolutionKind(StrEnum):
    """What a resolution decides."""

    SET_PROGRAMME_SHARES = "set-programme-shares"
    SET_MEMBER_SHARES = "set-member-shares"
    ADMIT_MEMBER = "admit-member"
    UPDATE_WEIGHTS = "update-weights"
    APPROVE_CONTAINMENT = "approve-containment"
    APPROVE_RELEASE = "approve-release"
    CHANGE_RULE = "change-rule"


class ResolutionStatus(StrEnum):
    """Where a resolution stands."""

    OPEN = "open"
    PASSED = "passed"  # closed, passed and enacted in the same transaction
    FAILED = "failed"


def parse_kind(value: object) -> ResolutionKind:
    """A resolution kind by name, or raise listing the known ones."""
    try:
        return ResolutionKind(str(value))
    except ValueError:
        known = ", ".join(k.value for k in ResolutionKind)
        raise InvalidInputError(f"unknown resolution kind {value!r} (known: {known})") from None


def fraction_text(value: Fraction) -> str:
    """An exact, JSON-safe text of a fraction: "1", "7/20"."""
    return str(value.numerator) if value.denominator == 1 else str(value)


def parse_shares(value: object, what: str) -> dict[str, Fraction]:
    """``{id: share}`` with shares in [0, 1] summing to exactly 1."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(f"{what} must be a non-empty object {{id: share}}")
    shares: dict[str, Fraction] = {}
    for key, raw in value.items():
        parse_slug(str(key), f"{what} id")
        share = parse_fraction(raw, f"{what} {key!r}")
        if not 0 <= share <= 1:
            raise InvalidInputError(f"{what} {key!r} must be within 0..1, got {raw}")
        shares[str(key)] = share
    total = sum(shares.values(), Fraction(0))
    if total != 1:
        raise InvalidInputError(f"{what} must sum to 1, got {float(total):.6g} ({total})")
    return dict(sorted(shares.items()))


# --- payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeShares:
    """How the facility is split among programmes."""

    shares: Mapping[str, Fraction]

    def to_json(self) -> dict[str, Any]:
        return {"shares": {k: fraction_text(v) for k, v in self.shares.items()}}


@dataclass(frozen=True)
class MemberShares:
    """How one programme's compute is split among members: fixed shares or by a weight key."""

    programme_id: str
    shares: Mapping[str, Fraction] | None = None
    proportional_to: str | None = None

    def __post_init__(self) -> None:
        parse_slug(self.programme_id, "programme id")
        if (self.shares is None) == (self.proportional_to is None):
            raise InvalidInputError("give either 'shares' or 'proportional-to', not both/neither")
        if self.proportional_to is not None and self.proportional_to not in WEIGHT_KEYS:
            raise InvalidInputError(
                f"proportional-to {self.proportional_to!r} is not a weight key"
                f" ({', '.join(WEIGHT_KEYS)})"
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"programme_id": self.programme_id}
        if self.shares is not None:
            out["shares"] = {k: fraction_text(v) for k, v in self.shares.items()}
        else:
            out["proportional-to"] = self.proportional_to
        return out

    def resolve(self, table: WeightTable) -> dict[str, Fraction]:
        """The member shares this payload means under ``table``."""
        if self.shares is not None:
            return dict(self.shares)
        key = str(self.proportional_to)
        weights = {m: w.get(key, Fraction(0)) for m, w in table.weights.items()}
        total = sum(weights.values(), Fraction(0))
        if total <= 0:
            raise InvalidInputError(f"no member has a positive {key!r} weight")
        return {m: w / total for m, w in sorted(weights.items())}


@dataclass(frozen=True)
class AdmitMember:
    """A new member of the facility."""

    member_id: str
    name: str

    def __post_init__(self) -> None:
        parse_slug(self.member_id, "member id")
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInputError("member name must be 1-200 characters")

    def to_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "name": self.name}


@dataclass(frozen=True)
class UpdateWeights:
    """A new weight table (its version is assigned at enactment)."""

    weights: Mapping[str, Mapping[str, Fraction]]

    def to_json(self) -> dict[str, Any]:
        return {"table": weights_json(self.weights)}


@dataclass(frozen=True)
class Approval:
    """Approve a project's containment level or a model's release (CL-3 / CL-4 only)."""

    subject: str
    level: ContainmentLevel
    subject_key: str = "project"

    def __post_init__(self) -> None:
        parse_slug(self.subject, self.subject_key)
        if self.level.rank < 3:
            raise InvalidInputError(f"only CL-3 and CL-4 need Council approval, got {self.level}")

    def to_json(self) -> dict[str, Any]:
        return {self.subject_key: self.subject, "level": str(self.level)}


@dataclass(frozen=True)
class ChangeRule:
    """The rule future resolutions of one kind are voted under."""

    kind: ResolutionKind
    rule: Rule

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "rule": self.rule.to_mapping()}


Payload = ProgrammeShares | MemberShares | AdmitMember | UpdateWeights | Approval | ChangeRule


def parse_payload(kind: ResolutionKind, data: object) -> Payload:
    """The typed payload of a ``kind`` resolution, or raise saying what is wrong."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"a {kind} payload must be an object")
    fields = _PAYLOAD_FIELDS[kind]
    unknown = sorted(set(data) - fields[0] - fields[1])
    missing = sorted(fields[0] - set(data))
    if unknown or missing:
        raise InvalidInputError(
            f"{kind} payload: unknown {unknown}, missing {missing};"
            f" expected {sorted(fields[0] | fields[1])}"
        )
    return _PARSERS[kind](data)


_PAYLOAD_FIELDS: dict[ResolutionKind, tuple[frozenset[str], frozenset[str]]] = {
    ResolutionKind.SET_PROGRAMME_SHARES: (frozenset({"shares"}), frozenset()),
    ResolutionKind.SET_MEMBER_SHARES: (
        frozenset({"programme_id"}),
        frozenset({"shares", "proportional-to"}),
    ),
    ResolutionKind.ADMIT_MEMBER: (frozenset({"member_id", "name"}), frozenset()),
    ResolutionKind.UPDATE_WEIGHTS: (frozenset({"table"}), frozenset()),
    ResolutionKind.APPROVE_CONTAINMENT: (frozenset({"project", "level"}), frozenset()),
    ResolutionKind.APPROVE_RELEASE: (frozenset({"model", "level"}), frozenset()),
    ResolutionKind.CHANGE_RULE: (frozenset({"kind", "rule"}), frozenset()),
}


def _member_shares(d: Mapping[str, Any]) -> MemberShares:
    shares = d.get("shares")
    return MemberShares(
        programme_id=str(d["programme_id"]),
        shares=None if shares is None else parse_shares(shares, "member share"),
        proportional_to=d.get("proportional-to"),
    )


_PARSERS: dict[ResolutionKind, Callable[[Mapping[str, Any]], Payload]] = {
    ResolutionKind.SET_PROGRAMME_SHARES: lambda d: ProgrammeShares(
        parse_shares(d["shares"], "programme share")
    ),
    ResolutionKind.SET_MEMBER_SHARES: _member_shares,
    ResolutionKind.ADMIT_MEMBER: lambda d: AdmitMember(str(d["member_id"]), str(d["name"])),
    ResolutionKind.UPDATE_WEIGHTS: lambda d: UpdateWeights(parse_weights(d["table"])),
    ResolutionKind.APPROVE_CONTAINMENT: lambda d: Approval(
        str(d["project"]), parse_containment(d["level"]), "project"
    ),
    ResolutionKind.APPROVE_RELEASE: lambda d: Approval(
        str(d["model"]), parse_containment(d["level"]), "model"
    ),
    ResolutionKind.CHANGE_RULE: lambda d: ChangeRule(parse_kind(d["kind"]), load_rule(d["rule"])),
}


# --- weight tables ----------------------------------------------------------------------------


def parse_weights(data: object) -> dict[str, dict[str, Fraction]]:
    """``{member: {population, contribution, accelerators}}``, every figure >= 0."""
    if not isinstance(data, Mapping) or not data:
        raise InvalidInputError("a weight table must be a non-empty object {member: {key: n}}")
    out: dict[str, dict[str, Fraction]] = {}
    for member, figures in data.items():
        parse_slug(str(member), "weight table member")
        if not isinstance(figures, Mapping) or set(figures) != set(WEIGHT_KEYS):
            raise InvalidInputError(
                f"weights of {member!r} must have exactly {', '.join(WEIGHT_KEYS)}"
            )
        row = {k: parse_fraction(figures[k], f"{member} {k}") for k in WEIGHT_KEYS}
        if any(v < 0 for v in row.values()):
            raise InvalidInputError(f"weights of {member!r} must be >= 0, got {dict(figures)}")
        out[str(member)] = row
    return dict(sorted(out.items()))


def weights_json(weights: Mapping[str, Mapping[str, Fraction]]) -> dict[str, dict[str, str]]:
    """A weight table as exact JSON text."""
    return {m: {k: fraction_text(v) for k, v in row.items()} for m, row in weights.items()}


@dataclass(frozen=True)
class WeightTable:
    """One version of the weight table."""

    version: int
    weights: Mapping[str, Mapping[str, Fraction]] = field(hash=False)

    def electorate(self) -> Electorate:
        """Every member in the table, with its weights, by id."""
        return Electorate(tuple(Member(m, dict(w)) for m, w in sorted(self.weights.items())))


# --- voting windows ---------------------------------------------------------------------------


def parse_time(value: str, what: str) -> datetime:
    """An RFC 3339 time with a zone, e.g. 2026-11-26T14:51:43Z."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInputError(f"{what} {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidInputError(f"{what} {value!r} needs a time zone (e.g. a trailing Z)")
    return moment


@dataclass(frozen=True)
class Window:
    """The voting window [opens_at, closes_at)."""

    opens_at: datetime
    closes_at: datetime

    def __post_init__(self) -> None:
        if self.closes_at <= self.opens_at:
            raise InvalidInputError("a voting window must close after it opens")
        if (self.closes_at - self.opens_at).days > MAX_VOTING_DAYS:
            raise InvalidInputError(f"a voting window may last at most {MAX_VOTING_DAYS} days")

    def contains(self, moment: datetime) -> bool:
        """True when ``moment`` is inside the window."""
        return self.opens_at <= moment < self.closes_at

    def require_open(self, moment: datetime, what: str) -> None:
        """Raise unless ``moment`` is inside the window."""
        if not self.contains(moment):
            raise InvalidInputError(
                f"{what} {moment.isoformat()} is outside the voting window"
                f" [{self.opens_at.isoformat()}, {self.closes_at.isoformat()})"
            )
