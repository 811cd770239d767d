"""Who votes and how they voted: members with weights, and ballots.

The file shapes are fixed in DESIGN.md §7::

    electorate  {"members": [{"id": "DE", "weights": {"population": 84400000, ...}}, ...]}
    ballots     [{"member": "DE", "choice": "yes" | "no" | "abstain"}, ...]

A member without a ballot did not vote ("absent").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import cast

from pnyx.domain.governance.numbers import parse_fraction
from pnyx.domain.governance.rules import check_key
from pnyx.errors import InvalidInputError

_ZERO = Fraction(0)


class Choice(StrEnum):
    """What a ballot says."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class Ballot:
    """One member's final choice (the service that handles ballot changes picks the last)."""

    member: str
    choice: Choice

    def __post_init__(self) -> None:
        check_key(self.member, "ballot member")
        if self.choice not in {c.value for c in Choice}:
            raise InvalidInputError(
                f"ballot of {self.member}: choice {self.choice!r} is not one of 'yes', 'no',"
                " 'abstain'"
            )
        object.__setattr__(self, "choice", Choice(self.choice))


@dataclass(frozen=True)
class Member:
    """A member of the electorate with its weights (population, contribution, ...)."""

    id: str
    weights: Mapping[str, Fraction | int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        check_key(self.id, "member id")
        exact: dict[str, Fraction] = {}
        for key, value in self.weights.items():
            check_key(key, f"member {self.id}: weight key")
            number = parse_fraction(value, f"member {self.id}: weight {key!r}")
            if number < 0:
                raise InvalidInputError(
                    f"member {self.id}: weight {key!r} is negative ({value}); weights are >= 0"
                )
            exact[key] = number
        object.__setattr__(self, "weights", MappingProxyType(exact))

    def weight(self, key: str) -> Fraction:
        """The member's weight under ``key`` (0 when it has none)."""
        return cast(Fraction, self.weights.get(key, _ZERO))


@dataclass(frozen=True)
class Electorate:
    """The members who may vote, in a fixed order; ids are unique."""

    members: tuple[Member, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        seen: set[str] = set()
        for m in self.members:
            if m.id in seen:
                raise InvalidInputError(f"member {m.id!r} appears twice in the electorate")
            seen.add(m.id)

    @property
    def ids(self) -> frozenset[str]:
        """Every member id."""
        return frozenset(m.id for m in self.members)

    def keys_held_by_all(self) -> frozenset[str]:
        """The weight keys every member has (none for an empty electorate)."""
        if not self.members:
            return frozenset()
        return frozenset.intersection(*(frozenset(m.weights) for m in self.members))


def parse_electorate(mapping: object) -> Electorate:
    """Read ``{"members": [{"id": ..., "weights": {...}}, ...]}``."""
    if not isinstance(mapping, Mapping) or set(mapping) != {"members"}:
        raise InvalidInputError(
            'an electorate must be an object with exactly one key, "members" (a list)'
        )
    members = mapping["members"]
    if not isinstance(members, list):
        raise InvalidInputError('electorate "members" must be a list')
    return Electorate(tuple(_member(m, i) for i, m in enumerate(members)))


def _member(value: object, index: int) -> Member:
    where = f"members[{index}]"
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{where} must be an object with 'id' and 'weights'")
    unknown = sorted(str(k) for k in value if k not in ("id", "weights"))
    if unknown or "id" not in value:
        raise InvalidInputError(
            f"{where}: needs 'id' and optional 'weights'; unknown: {', '.join(unknown) or '-'}"
        )
    weights = value.get("weights", {})
    if not isinstance(weights, Mapping):
        raise InvalidInputError(f"{where}: 'weights' must be an object of key: number")
    return Member(id=value["id"], weights=dict(weights))


def parse_ballots(items: object) -> tuple[Ballot, ...]:
    """Read ``[{"member": ..., "choice": "yes" | "no" | "abstain"}, ...]``."""
    if not isinstance(items, list):
        raise InvalidInputError("ballots must be a list of {member, choice} objects")
    return tuple(_ballot(b, i) for i, b in enumerate(items))


def _ballot(value: object, index: int) -> Ballot:
    where = f"ballots[{index}]"
    if not isinstance(value, Mapping) or set(value) != {"member", "choice"}:
        raise InvalidInputError(f"{where} must be an object with exactly 'member' and 'choice'")
    try:
        return Ballot(member=value["member"], choice=value["choice"])
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {e}") from e


def verify_ballots(electorate: Electorate, ballots: Iterable[Ballot]) -> None:
    """Raise unless every ballot comes from a member of the electorate, at most one each."""
    members = electorate.ids
    seen: set[str] = set()
    for b in ballots:
        if b.member not in members:
            raise InvalidInputError(f"ballot from {b.member!r}, which is not in the electorate")
        if b.member in seen:
            raise InvalidInputError(
                f"two ballots from {b.member!r}: give only the final ballot of each member"
            )
        seen.add(b.member)
