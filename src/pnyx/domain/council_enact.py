"""Closing a resolution: the tally over the last ballot per member, and what enactment records.

Pure: the service reads the resolution, its weight snapshot and its ballots, and records the
events these functions return in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pnyx.domain import council as dc
from pnyx.domain import council_events as ce
from pnyx.domain.events import Event
from pnyx.domain.governance import Ballot, Choice, Rule, Tally, split_electorate, tally
from pnyx.domain.identity import MemberAdmitted


@dataclass(frozen=True)
class CastBallot:
    """A recorded ballot: its ledger seq, member and choice."""

    seq: int
    member: str
    choice: str


def last_ballots(ballots: Iterable[CastBallot]) -> dict[str, CastBallot]:
    """The last ballot (highest seq) of each member: a member may change its vote."""
    last: dict[str, CastBallot] = {}
    for b in sorted(ballots, key=lambda b: b.seq):
        last[b.member] = b
    return last


def count(rule: Rule, table: dc.WeightTable, ballots: Iterable[CastBallot]) -> Tally:
    """The tally of the last ballot per member under ``rule`` and the snapshot ``table``."""
    final = last_ballots(ballots)
    return tally(
        rule, table.electorate(), [Ballot(m, Choice(b.choice)) for m, b in sorted(final.items())]
    )


def eligible_members(rule: Rule, table: dc.WeightTable) -> frozenset[str]:
    """The members who vote under ``rule`` (suspended and filtered ones excluded)."""
    voters, _ = split_electorate(rule, table.electorate())
    return frozenset(m.id for m in voters)


def close_events(
    resolution_id: str,
    rule: Rule,
    table: dc.WeightTable,
    ballots: Sequence[CastBallot],
) -> tuple[Tally, ce.ResolutionClosed]:
    """The tally and the event that records it."""
    result = count(rule, table, ballots)
    counted = {m: b.seq for m, b in sorted(last_ballots(ballots).items())}
    event = ce.ResolutionClosed(
        resolution_id=resolution_id,
        passed=result.passed,
        decided_by=result.decided_by,
        tally=result.to_json(),
        counted=counted,
    )
    return result, event


def enactment_events(
    resolution_id: str,
    payload: dc.Payload,
    table: dc.WeightTable,
    next_weights_version: int,
) -> list[Event]:
    """What a passed resolution changes, as events (after ``ResolutionEnacted``)."""
    rid = resolution_id
    match payload:
        case dc.ProgrammeShares(shares=shares):
            texts = {k: dc.fraction_text(v) for k, v in shares.items()}
            return [ce.ProgrammeSharesEnacted(rid, texts)]
        case dc.MemberShares():
            resolved = payload.resolve(table)
            texts = {k: dc.fraction_text(v) for k, v in resolved.items()}
            return [ce.MemberSharesEnacted(rid, payload.programme_id, texts)]
        case dc.AdmitMember(member_id=member_id, name=name):
            return [MemberAdmitted(member_id=member_id, name=name)]
        case dc.UpdateWeights(weights=weights):
            source = f"resolution:{rid}"
            return [ce.WeightTableAdopted(next_weights_version, dc.weights_json(weights), source)]
        case dc.Approval(subject=subject, level=level, subject_key="project"):
            return [ce.ContainmentApproved(rid, subject, str(level))]
        case dc.Approval(subject=subject, level=level):
            return [ce.ReleaseApproved(rid, subject, str(level))]
        case dc.ChangeRule(kind=kind, rule=rule):
            return [ce.RuleChanged(rid, str(kind), rule.to_mapping())]
    raise AssertionError(f"no enactment for {type(payload).__name__}")
