"""Count a vote: ``tally(rule, electorate, ballots) -> Tally``, pure and total.

Inputs that do not fit together (a ballot from a non-member, two ballots from one member, a
weight the rule sums but a member lacks) raise :class:`~pnyx.errors.InvalidInputError` before
anything is counted; any inputs that fit give a :class:`Tally`, never an exception. The order
in which clauses decide (``decided_by``) is: quorum, unanimity, the majority clauses in the
order the rule lists them; a passing tally names the blocking minority when it rescued a weight
majority, else unanimity when the rule has it, else the rule's last majority clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from pnyx.domain.governance.electorate import (
    Ballot,
    Choice,
    Electorate,
    Member,
    verify_ballots,
)
from pnyx.domain.governance.numbers import Comparison, fraction_json
from pnyx.domain.governance.rules import AUTO, Abstention, Base, Clause, Measure, Rule
from pnyx.errors import InvalidInputError

__all__ = [
    "Ballot",
    "BlockingFigures",
    "Choice",
    "ClauseResult",
    "Counts",
    "Electorate",
    "Exclusion",
    "Tally",
    "WeightSums",
    "split_electorate",
    "tally",
    "verify_rule_fits",
]

_ALL = frozenset(Choice)
_YES = frozenset({Choice.YES})
_YES_NO = frozenset({Choice.YES, Choice.NO})


@dataclass(frozen=True)
class Counts:
    """Members of the (effective) electorate by what they did."""

    yes: int
    no: int
    abstain: int
    absent: int
    electorate: int


@dataclass(frozen=True)
class WeightSums:
    """One weight key summed by what the members did."""

    yes: Fraction
    no: Fraction
    abstain: Fraction
    absent: Fraction
    total: Fraction


@dataclass(frozen=True)
class ClauseResult:
    """One clause: ``numerator / denominator`` compared with ``threshold``."""

    clause: str
    met: bool
    numerator: Fraction
    denominator: Fraction
    threshold: Fraction
    comparison: Comparison
    base: Base | None = None
    rescued: bool = False  # failed, but deemed met because no blocking minority formed

    @property
    def share(self) -> Fraction | None:
        """The share compared with the threshold (None when the base is empty)."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def holds(self) -> bool:
        """Met, or deemed met by the blocking-minority clause."""
        return self.met or self.rescued


@dataclass(frozen=True)
class BlockingFigures:
    """Members against (in the weight majorities' base, not voting yes) and the minimum."""

    min_members: int
    against_members: int
    rescued: tuple[str, ...]

    @property
    def formed(self) -> bool:
        """True when enough members are against to block."""
        return self.against_members >= self.min_members


@dataclass(frozen=True)
class Exclusion:
    """A member of the electorate file who does not vote under this rule, and why."""

    member: str
    reason: str


@dataclass(frozen=True)
class Tally:
    """The outcome of a vote and every figure that led to it."""

    rule: str
    passed: bool
    decided_by: str
    counts: Counts
    weights: Mapping[str, WeightSums] = field(hash=False)
    quorum_reached: bool
    clauses: tuple[ClauseResult, ...]
    blocking_minority: BlockingFigures | None
    excluded: tuple[Exclusion, ...]
    ignored_ballots: tuple[Ballot, ...]

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md §7 shape; fractions as ``{"fraction": "13/20", "float": 0.65}``."""
        return {
            "rule": self.rule,
            "passed": self.passed,
            "decided_by": self.decided_by,
            "counts": vars(self.counts).copy(),
            "weights": {k: _sums_json(s) for k, s in self.weights.items()},
            "quorum_reached": self.quorum_reached,
            "clauses": [_clause_json(c) for c in self.clauses],
            "blocking_minority": _blocking_json(self.blocking_minority),
            "excluded": [{"member": e.member, "reason": e.reason} for e in self.excluded],
            "ignored_ballots": [
                {"member": b.member, "choice": str(b.choice)} for b in self.ignored_ballots
            ],
        }


def tally(rule: Rule, electorate: Electorate, ballots: Iterable[Ballot]) -> Tally:
    """Count ``ballots`` (one final ballot per member) under ``rule``."""
    ballots = tuple(ballots)
    verify_rule_fits(rule, electorate)
    verify_ballots(electorate, ballots)
    voters, excluded = split_electorate(rule, electorate)
    ids = {m.id for m in voters}
    votes = _Votes(voters, {b.member: b.choice for b in ballots if b.member in ids})
    quorum = tuple(_quorum(c, votes, rule.abstention) for c in rule.quorum)
    unanimity = _unanimity(votes, rule.abstention) if rule.unanimity else None
    majority = tuple(_majority(c, votes, rule.abstention) for c in rule.majority)
    blocking = _blocking(rule, votes, majority)
    if blocking is not None:
        majority = tuple(replace(r, rescued=r.clause in blocking.rescued) for r in majority)
    quorum_reached = bool(voters) and all(q.met for q in quorum)
    passed, decided_by = _decide(quorum_reached, unanimity, majority, blocking)
    return Tally(
        rule=rule.name,
        passed=passed,
        decided_by=decided_by,
        counts=votes.counts(),
        weights=MappingProxyType(
            {k: votes.sums(k) for k in sorted(set(rule.weight_keys()) | _common_keys(voters))}
        ),
        quorum_reached=quorum_reached,
        clauses=(*quorum, *(() if unanimity is None else (unanimity,)), *majority),
        blocking_minority=blocking,
        excluded=excluded,
        ignored_ballots=tuple(sorted((b for b in ballots if b.member not in ids), key=_by_member)),
    )


def verify_rule_fits(rule: Rule, electorate: Electorate) -> None:
    """Raise unless every member and weight key the rule names exists in the electorate."""
    for member in rule.electorate.suspended:
        if member not in electorate.ids:
            raise InvalidInputError(
                f"rule {rule.name} suspends {member!r}, which is not in the electorate"
            )
    for key in rule.electorate.positive_weight:
        if electorate.members and not any(key in m.weights for m in electorate.members):
            raise InvalidInputError(
                f"rule {rule.name} filters on weight {key!r}, which no member has"
            )
    voters, _ = split_electorate(rule, electorate)
    for key in rule.weight_keys():
        lacking = sorted(m.id for m in voters if key not in m.weights)
        if lacking:
            raise InvalidInputError(
                f"rule {rule.name} sums weight {key!r}, which member(s) {', '.join(lacking)}"
                " lack: add it to the electorate's weights"
            )


def split_electorate(
    rule: Rule, electorate: Electorate
) -> tuple[tuple[Member, ...], tuple[Exclusion, ...]]:
    """The members who vote under ``rule``, and the others with the reason."""
    voters: list[Member] = []
    excluded: list[Exclusion] = []
    for m in electorate.members:
        reason = _exclusion(rule, m)
        if reason is None:
            voters.append(m)
        else:
            excluded.append(Exclusion(m.id, reason))
    return tuple(voters), tuple(excluded)


def _exclusion(rule: Rule, member: Member) -> str | None:
    if member.id in rule.electorate.suspended:
        return "suspended"
    for key in rule.electorate.positive_weight:
        if member.weight(key) <= 0:
            return f"no positive weight {key!r}"
    return None


@dataclass(frozen=True)
class _Votes:
    voters: tuple[Member, ...]
    choices: Mapping[str, Choice]

    def among(self, choices: frozenset[Choice] | None) -> list[Member]:
        """Voters whose ballot is in ``choices``; None means every voter, absent ones too."""
        if choices is None:
            return list(self.voters)
        return [m for m in self.voters if self.choices.get(m.id) in choices]

    def measure(self, clause: Clause, choices: frozenset[Choice] | None) -> Fraction:
        members = self.among(choices)
        if clause.by is Measure.COUNT or clause.key is None:
            return Fraction(len(members))
        return _weight(members, clause.key)

    def counts(self) -> Counts:
        n = {c: len(self.among(frozenset({c}))) for c in Choice}
        voted = sum(n.values())
        return Counts(
            n[Choice.YES],
            n[Choice.NO],
            n[Choice.ABSTAIN],
            len(self.voters) - voted,
            len(self.voters),
        )

    def sums(self, key: str) -> WeightSums:
        s = {c: _weight(self.among(frozenset({c})), key) for c in Choice}
        total = _weight(self.voters, key)
        return WeightSums(
            s[Choice.YES],
            s[Choice.NO],
            s[Choice.ABSTAIN],
            total - sum(s.values(), Fraction(0)),
            total,
        )


def _weight(members: Iterable[Member], key: str) -> Fraction:
    return sum((m.weight(key) for m in members), Fraction(0))


def _present(abstention: Abstention) -> frozenset[Choice]:
    return _YES_NO if abstention is Abstention.NOT_COUNTED else _ALL


def _base(base: Base | None, abstention: Abstention) -> frozenset[Choice] | None:
    if base is Base.ABSOLUTE or base is None:
        return None
    if base is Base.VOTING_INCL_ABSTENTIONS or abstention is Abstention.COUNTS_AS_NO:
        return _ALL
    return _YES_NO


def _compare(clause: Clause, numerator: Fraction, denominator: Fraction) -> ClauseResult:
    met = denominator > 0 and clause.comparison.holds(numerator / denominator, clause.threshold)
    return ClauseResult(
        clause.name, met, numerator, denominator, clause.threshold, clause.comparison, clause.base
    )


def _quorum(clause: Clause, votes: _Votes, abstention: Abstention) -> ClauseResult:
    return _compare(
        clause, votes.measure(clause, _present(abstention)), votes.measure(clause, None)
    )


def _majority(clause: Clause, votes: _Votes, abstention: Abstention) -> ClauseResult:
    base = _base(clause.base, abstention)
    return _compare(clause, votes.measure(clause, _YES), votes.measure(clause, base))


def _unanimity(votes: _Votes, abstention: Abstention) -> ClauseResult:
    consenting = _YES if abstention is Abstention.COUNTS_AS_NO else _ALL - {Choice.NO}
    agree = len(votes.among(consenting))
    met = bool(votes.voters) and agree == len(votes.voters) and bool(votes.among(_YES))
    one = Fraction(1)
    return ClauseResult(
        "unanimity",
        met,
        Fraction(agree),
        Fraction(len(votes.voters)),
        one,
        Comparison.AT_LEAST,
        Base.ABSOLUTE,
    )


def _blocking(
    rule: Rule, votes: _Votes, majority: tuple[ClauseResult, ...]
) -> BlockingFigures | None:
    if rule.blocking_minority is None:
        return None
    weighted = rule.weight_majorities
    base = _base(weighted[0].base, rule.abstention)
    against = len(votes.among(base)) - len(votes.among(_YES))
    minimum = rule.blocking_minority.min_members
    need = _auto_minimum(weighted[0], votes) if minimum == AUTO else int(minimum)
    names = {c.name for c in weighted}
    rescued = (
        ()
        if against >= need
        else tuple(r.clause for r in majority if r.clause in names and not r.met)
    )
    return BlockingFigures(need, against, rescued)


def _auto_minimum(clause: Clause, votes: _Votes) -> int:
    """Art. 238(3)(a) TFEU: the fewest members able to defeat ``clause``, plus one."""
    assert clause.key is not None
    total = _weight(votes.voters, clause.key)
    limit = (1 - clause.threshold) * total
    running = Fraction(0)
    ranked = sorted((m.weight(clause.key) for m in votes.voters), reverse=True)
    for n, w in enumerate(ranked, start=1):
        running += w
        if running > limit or (clause.comparison is Comparison.MORE_THAN and running >= limit):
            return n + 1
    return len(ranked) + 1


def _decide(
    quorum_reached: bool,
    unanimity: ClauseResult | None,
    majority: tuple[ClauseResult, ...],
    blocking: BlockingFigures | None,
) -> tuple[bool, str]:
    if not quorum_reached:
        return False, "quorum"
    if unanimity is not None and not unanimity.met:
        return False, "unanimity"
    for r in majority:
        if not r.holds:
            return False, r.clause
    if blocking is not None and blocking.rescued:
        return True, "blocking-minority"
    if unanimity is not None:
        return True, "unanimity"
    return True, majority[-1].clause


def _common_keys(voters: tuple[Member, ...]) -> set[str]:
    return set(Electorate(voters).keys_held_by_all())


def _by_member(ballot: Ballot) -> str:
    return ballot.member


def _sums_json(s: WeightSums) -> dict[str, Any]:
    return {k: fraction_json(v) for k, v in vars(s).items()}


def _clause_json(c: ClauseResult) -> dict[str, Any]:
    return {
        "clause": c.clause,
        "met": c.met,
        "rescued": c.rescued,
        "base": None if c.base is None else str(c.base),
        "comparison": str(c.comparison),
        "numerator": fraction_json(c.numerator),
        "denominator": fraction_json(c.denominator),
        "share": None if c.share is None else fraction_json(c.share),
        "threshold": fraction_json(c.threshold),
    }


def _blocking_json(b: BlockingFigures | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "min_members": b.min_members,
        "against_members": b.against_members,
        "formed": b.formed,
        "rescued": list(b.rescued),
    }
