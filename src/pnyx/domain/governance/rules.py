"""Voting rules as data: quorum, majorities by count and weight, blocking minority, unanimity.

A :class:`Rule` is a frozen dataclass that validates itself on construction, so an invalid rule
never exists. :func:`parse_rule` reads one from a JSON/YAML mapping (unknown keys are refused by
name) and :meth:`Rule.to_mapping` writes it back in the same form. ``docs/governance.md``
describes the format; :mod:`pnyx.domain.governance.presets` holds the named rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from pnyx.domain.governance.numbers import Comparison, parse_fraction
from pnyx.errors import InvalidInputError

E = TypeVar("E", bound=StrEnum)

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class Abstention(StrEnum):
    """What an abstention does.

    ``counts-as-no``: an abstainer is present (counts toward quorum) and counts against.
    ``quorum-only``: present for quorum, left out of every majority (except an ``absolute``
    base, which holds every member whatever they did).
    ``not-counted``: treated as not having voted at all, for quorum and majorities.
    """

    COUNTS_AS_NO = "counts-as-no"
    QUORUM_ONLY = "quorum-only"
    NOT_COUNTED = "not-counted"


class Base(StrEnum):
    """What a majority's share is a share of.

    ``absolute``: all members of the electorate (absent ones included).
    ``voting``: members voting yes or no (plus abstainers when abstention ``counts-as-no``).
    ``voting-incl-abstentions``: members voting yes, no or abstain ("members present").
    """

    ABSOLUTE = "absolute"
    VOTING = "voting"
    VOTING_INCL_ABSTENTIONS = "voting-incl-abstentions"


class Measure(StrEnum):
    """Whether a clause counts members or sums a named weight (population, contribution...)."""

    COUNT = "count"
    WEIGHT = "weight"


def check_key(key: str, what: str) -> str:
    """Return ``key`` if it is a valid weight key or member id, else raise naming ``what``."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError(
            f"{what} {key!r} is not valid: use 1-63 letters, digits, '.', '_' or '-'"
        )
    return key


@dataclass(frozen=True)
class Clause:
    """One threshold: ``yes share`` (of ``base``) compared with ``threshold``.

    Quorum clauses have no base: their share is members (or weight) present over the whole
    electorate.
    """

    kind: str  # "quorum" or "majority"
    by: Measure
    threshold: Fraction
    key: str | None = None
    base: Base | None = None
    comparison: Comparison = Comparison.AT_LEAST

    def __post_init__(self) -> None:
        what = f"{self.kind} clause"
        _set(self, "by", _enum(Measure, self.by, f"{what}: by"))
        _set(self, "threshold", parse_fraction(self.threshold, f"{what}: threshold"))
        _set(self, "comparison", _enum(Comparison, self.comparison, f"{what}: comparison"))
        if self.base is not None:
            _set(self, "base", _enum(Base, self.base, f"{what}: base"))
        where = f"{what} {self.name}"
        self._check_shape(where)
        if not 0 <= self.threshold <= 1:
            raise InvalidInputError(
                f"{where}: threshold {self.threshold} is outside 0..1: give a fraction of the"
                " electorate such as '55%', '2/3' or '0.5'"
            )
        if self.comparison is Comparison.AT_LEAST and self.threshold == 0:
            raise InvalidInputError(
                f"{where}: '>= 0' is always met: use '>' 0 (at least one) or drop the clause"
            )
        if self.comparison is Comparison.MORE_THAN and self.threshold == 1:
            raise InvalidInputError(f"{where}: '> 100 %' can never be met: use '>=' 1")

    def _check_shape(self, where: str) -> None:
        if self.kind not in ("quorum", "majority"):
            raise InvalidInputError(f"clause kind {self.kind!r} is neither quorum nor majority")
        if (self.by is Measure.WEIGHT) != (self.key is not None):
            raise InvalidInputError(f"{where}: a weight clause needs 'key'; a count clause none")
        if self.key is not None:
            check_key(self.key, f"{where}: weight key")
        if (self.kind == "majority") != (self.base is not None):
            raise InvalidInputError(f"{where}: a majority needs a 'base'; a quorum takes none")

    @property
    def name(self) -> str:
        """``quorum:count``, ``majority:weight:population``, ..."""
        return f"{self.kind}:{self.by}" + (f":{self.key}" if self.key else "")


AUTO = "auto"


@dataclass(frozen=True)
class BlockingMinority:
    """A failing weight majority is deemed met unless at least ``min_members`` are against.

    ``min_members`` is a number (Art. 16(4) TEU: 4) or ``"auto"`` (Art. 238(3)(a) TFEU: the
    fewest members whose weight can defeat the weight clause, plus one).
    """

    min_members: int | str

    def __post_init__(self) -> None:
        m = self.min_members
        if m != AUTO and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise InvalidInputError(
                f"blocking_minority.min_members must be a whole number >= 1 or 'auto', got {m!r}"
            )


@dataclass(frozen=True)
class ElectorateFilter:
    """Who of the electorate votes: members with a positive weight under every key of
    ``positive_weight`` (per-programme electorates), minus the ``suspended`` (e.g. arrears)."""

    positive_weight: tuple[str, ...] = ()
    suspended: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "positive_weight", tuple(self.positive_weight))
        _set(self, "suspended", tuple(self.suspended))
        for key in self.positive_weight:
            check_key(key, "electorate.positive_weight key")
        for member in self.suspended:
            check_key(member, "electorate.suspended member")


@dataclass(frozen=True)
class Rule:
    """A voting rule: every clause must hold for a resolution to pass."""

    name: str
    abstention: Abstention
    quorum: tuple[Clause, ...] = ()
    majority: tuple[Clause, ...] = ()
    blocking_minority: BlockingMinority | None = None
    unanimity: bool = False
    electorate: ElectorateFilter = field(default_factory=ElectorateFilter)
    description: str = ""

    def __post_init__(self) -> None:
        check_key(self.name, "rule name")
        _set(self, "abstention", _enum(Abstention, self.abstention, "abstention"))
        _set(self, "quorum", tuple(self.quorum))
        _set(self, "majority", tuple(self.majority))
        _flag(self.unanimity, "unanimity")
        if not self.majority and not self.unanimity:
            raise InvalidInputError(
                f"rule {self.name}: give at least one 'majority' clause or 'unanimity: true'"
            )
        self._check_clauses()
        self._check_blocking_minority()

    def _check_clauses(self) -> None:
        for kind, clauses in (("quorum", self.quorum), ("majority", self.majority)):
            names = [c.name for c in clauses]
            if any(c.kind != kind for c in clauses):
                raise InvalidInputError(f"rule {self.name}: a {kind} list holds another kind")
            if len(set(names)) != len(names):
                raise InvalidInputError(
                    f"rule {self.name}: two {kind} clauses measure the same thing ({names});"
                    " keep one per count / weight key"
                )
        for c in self.majority:
            if c.base is Base.VOTING_INCL_ABSTENTIONS and self.abstention is Abstention.NOT_COUNTED:
                raise InvalidInputError(
                    f"rule {self.name}: {c.name} has base 'voting-incl-abstentions' but"
                    " abstentions are 'not-counted': use base 'voting' or abstention 'quorum-only'"
                )

    def _check_blocking_minority(self) -> None:
        if self.blocking_minority is None:
            return
        weighted = self.weight_majorities
        if not weighted:
            raise InvalidInputError(
                f"rule {self.name}: a blocking minority only rescues weight majorities;"
                " add a 'majority' clause with by: weight, or drop blocking_minority"
            )
        if len({c.base for c in weighted}) > 1:
            raise InvalidInputError(
                f"rule {self.name}: with a blocking minority, all weight majorities need one base"
            )
        if self.blocking_minority.min_members == AUTO and (
            len(weighted) != 1 or weighted[0].base is not Base.ABSOLUTE
        ):
            raise InvalidInputError(
                f"rule {self.name}: blocking_minority 'auto' needs exactly one weight majority"
                " with base 'absolute'; give min_members as a number instead"
            )

    @property
    def weight_majorities(self) -> tuple[Clause, ...]:
        """The majority clauses that sum a weight."""
        return tuple(c for c in self.majority if c.by is Measure.WEIGHT)

    def weight_keys(self) -> tuple[str, ...]:
        """Every weight key a quorum or majority clause sums, sorted."""
        return tuple(sorted({c.key for c in (*self.quorum, *self.majority) if c.key}))

    def to_mapping(self) -> dict[str, Any]:
        """The rule in its JSON/YAML form; ``parse_rule(rule.to_mapping()) == rule``."""
        out: dict[str, Any] = {"name": self.name, "abstention": str(self.abstention)}
        if self.description:
            out["description"] = self.description
        if self.quorum:
            out["quorum"] = [_clause_mapping(c) for c in self.quorum]
        if self.majority:
            out["majority"] = [_clause_mapping(c) for c in self.majority]
        if self.blocking_minority is not None:
            out["blocking_minority"] = {"min_members": self.blocking_minority.min_members}
        if self.unanimity:
            out["unanimity"] = True
        if self.electorate != ElectorateFilter():
            out["electorate"] = {
                "positive_weight": list(self.electorate.positive_weight),
                "suspended": list(self.electorate.suspended),
            }
        return out


def _set(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass during ``__post_init__``."""
    object.__setattr__(obj, name, value)


def _clause_mapping(clause: Clause) -> dict[str, Any]:
    out: dict[str, Any] = {"by": str(clause.by), "threshold": str(clause.threshold)}
    if clause.key is not None:
        out["key"] = clause.key
    if clause.base is not None:
        out["base"] = str(clause.base)
    out["comparison"] = str(clause.comparison)
    return out


_RULE_KEYS = frozenset(
    {"name", "description", "abstention", "quorum", "majority", "blocking_minority"}
    | {"unanimity", "electorate"}
)
_CLAUSE_KEYS = {
    "quorum": frozenset({"by", "key", "threshold", "comparison"}),
    "majority": frozenset({"by", "key", "threshold", "comparison", "base"}),
}


def parse_rule(mapping: object) -> Rule:
    """Read a rule from its JSON/YAML mapping, refusing unknown keys by name."""
    if isinstance(mapping, Mapping) and "extends" in mapping:
        raise InvalidInputError("'extends' is resolved by load_rule, not parse_rule")
    data = _mapping(mapping, "a rule", _RULE_KEYS)
    for required in ("name", "abstention"):
        if required not in data:
            raise InvalidInputError(f"a rule needs {required!r}")
    return Rule(
        name=_text(data["name"], "rule name"),
        abstention=_enum(Abstention, data["abstention"], "abstention"),
        description=_text(data.get("description", ""), "description"),
        quorum=_clauses(data.get("quorum", []), "quorum"),
        majority=_clauses(data.get("majority", []), "majority"),
        blocking_minority=_blocking(data.get("blocking_minority")),
        unanimity=_flag(data.get("unanimity", False), "unanimity"),
        electorate=_electorate(data.get("electorate", {})),
    )


def _mapping(value: object, what: str, known: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a mapping (an object), got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise InvalidInputError(
            f"{what}: unknown key(s) {', '.join(map(repr, unknown))}"
            f" (known: {', '.join(sorted(known))})"
        )
    return value


def _clauses(value: object, kind: str) -> tuple[Clause, ...]:
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        raise InvalidInputError(f"{kind} must be a list of clauses, got {type(value).__name__}")
    return tuple(_clause(item, kind, f"{kind}[{i}]") for i, item in enumerate(items))


def _clause(value: object, kind: str, where: str) -> Clause:
    data = _mapping(value, where, _CLAUSE_KEYS[kind])
    for required in ("by", "threshold") + (("base",) if kind == "majority" else ()):
        if required not in data:
            raise InvalidInputError(f"{where} needs {required!r}")
    key = data.get("key")
    return Clause(
        kind=kind,
        by=_enum(Measure, data["by"], f"{where}.by"),
        threshold=parse_fraction(data["threshold"], f"{where}.threshold"),
        key=None if key is None else _text(key, f"{where}.key"),
        base=_enum(Base, data["base"], f"{where}.base") if kind == "majority" else None,
        comparison=_enum(Comparison, data.get("comparison", ">="), f"{where}.comparison"),
    )


def _blocking(value: object) -> BlockingMinority | None:
    if value is None:
        return None
    data = _mapping(value, "blocking_minority", frozenset({"min_members"}))
    if "min_members" not in data:
        raise InvalidInputError("blocking_minority needs 'min_members' (a number or 'auto')")
    return BlockingMinority(data["min_members"])


def _electorate(value: object) -> ElectorateFilter:
    data = _mapping(value, "electorate", frozenset({"positive_weight", "suspended"}))
    return ElectorateFilter(
        positive_weight=_strings(data.get("positive_weight", []), "electorate.positive_weight"),
        suspended=_strings(data.get("suspended", []), "electorate.suspended"),
    )


def _strings(value: object, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidInputError(f"{what} must be a list of strings")
    return tuple(items)


def _enum(cls: type[E], value: object, what: str) -> E:
    if isinstance(value, str) and value in {m.value for m in cls}:
        return cls(value)
    known = ", ".join(repr(m.value) for m in cls)
    raise InvalidInputError(f"{what}: {value!r} is not one of {known}")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be true or false, got {value!r}")
    return value
