"""Recount a resolution from the public record alone (``pnyx council verify``).

Reads every public ledger entry (from a database or a live server's log API), rebuilds what a
recount needs — the proposal (kind, payload, rule, window, weight-table version), that weight
table's adoption event, the delegates and their registered ballot keys, every ballot — checks
each ballot's signature and eligibility, recounts with the same pure tally, and compares the
result with the recorded ``ResolutionClosed`` tally. Nothing is read from the projections.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pnyx.domain import council as dc
from pnyx.domain import council_enact as enact
from pnyx.domain import council_events as ce
from pnyx.domain.ballot import BallotBody, verify_ballot_signature
from pnyx.domain.governance import parse_rule
from pnyx.domain.identity import KeyRegistered, KeyRevoked, PrincipalCreated, PrincipalRolesChanged
from pnyx.errors import InvalidInputError, NotFoundError, VerificationError
from pnyx.services.council_dto import RecountReport
from pnyx.services.entrycheck import EntryBatch

ALL = 2**62  # read to the end of the log


@dataclass
class _Record:
    """What the public record says, gathered in one pass."""

    resolution_id: str
    proposal: dict[str, Any] | None = None
    closed: dict[str, Any] | None = None
    tables: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key_id -> body + seq
    revoked: dict[str, int] = field(default_factory=dict)  # key_id -> seq
    principals: dict[str, dict[str, Any]] = field(default_factory=dict)
    ballots: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, seq: int, at: str, kind: str, body: dict[str, Any]) -> None:
        rid = body.get("resolution_id")
        if kind == ce.WeightTableAdopted.KIND:
            self.tables[int(body["version"])] = body
        elif kind == KeyRegistered.KIND:
            self.keys[body["key_id"]] = {**body, "seq": seq}
        elif kind == KeyRevoked.KIND:
            self.revoked.setdefault(body["key_id"], seq)
        elif kind == PrincipalCreated.KIND:
            self.principals[body["principal_id"]] = dict(body)
        elif kind == PrincipalRolesChanged.KIND and body["principal_id"] in self.principals:
            self.principals[body["principal_id"]]["roles"] = body["roles"]
        elif rid != self.resolution_id:
            return
        elif kind == ce.ResolutionProposed.KIND:
            self.proposal = body
        elif kind == ce.BallotCast.KIND:
            self.ballots.append((seq, at, body))
        elif kind == ce.ResolutionClosed.KIND:
            self.closed = {**body, "seq": seq}


def recount(batches: Iterable[EntryBatch], resolution_id: str) -> RecountReport:
    """Recount ``resolution_id`` from the public entries in ``batches``; never raises on a
    mismatch (the report says what differs), but raises NotFoundError for an unknown id."""
    rec = _Record(resolution_id)
    for batch in batches:
        for entry in batch.entries:
            obj = json.loads(entry)
            rec.add(int(obj["seq"]), obj["at"], obj["kind"], obj["body"])
    if rec.proposal is None:
        raise NotFoundError(f"resolution {resolution_id!r} is not on the record")
    report = RecountReport(
        resolution_id=resolution_id,
        ok=False,
        ballots=len(rec.ballots),
        counted={},
        recorded_passed=None if rec.closed is None else bool(rec.closed["passed"]),
        recounted_passed=None,
    )
    try:
        _check(rec, report)
        report.ok = True
    except (VerificationError, InvalidInputError) as e:
        report.error = str(e)
    return report


def _check(rec: _Record, report: RecountReport) -> None:
    assert rec.proposal is not None
    proposal = rec.proposal
    version = int(proposal["weights_version"])
    if version not in rec.tables:
        raise VerificationError(f"weight table v{version} is not on the record")
    table = dc.WeightTable(version, dc.parse_weights(rec.tables[version]["weights"]))
    rule = parse_rule(proposal["rule"])
    window = dc.Window(
        dc.parse_time(proposal["opens_at"], "opens_at"),
        dc.parse_time(proposal["closes_at"], "closes_at"),
    )
    eligible = enact.eligible_members(rule, table)
    late = [seq for seq, _, _ in rec.ballots if rec.closed and seq > rec.closed["seq"]]
    if late:
        raise VerificationError(f"ballot at seq {late[0]} was recorded after the close")
    cast = [_checked_ballot(rec, window, eligible, *b) for b in rec.ballots]
    result = enact.count(rule, table, cast)
    report.recounted_passed = result.passed
    report.counted = {m: b.choice for m, b in sorted(enact.last_ballots(cast).items())}
    if rec.closed is None:
        raise VerificationError(f"resolution {rec.resolution_id} is not closed yet")
    _compare("tally", _normal(result.to_json()), _normal(rec.closed["tally"]))
    counted = {m: b.seq for m, b in enact.last_ballots(cast).items()}
    _compare("counted", counted, rec.closed["counted"])


def _checked_ballot(
    rec: _Record,
    window: dc.Window,
    eligible: frozenset[str],
    seq: int,
    at: str,
    body: dict[str, Any],
) -> enact.CastBallot:
    where = f"ballot at seq {seq} ({body.get('member_id')})"
    try:
        ballot = BallotBody(rec.resolution_id, body["member_id"], body["choice"], body["cast_at"])
        window.require_open(dc.parse_time(body["cast_at"], "cast_at"), "cast_at")
        window.require_open(dc.parse_time(at, "recorded at"), "recorded at")
        if ballot.member not in eligible:
            raise VerificationError(f"member {ballot.member} is not in the electorate")
        key = _key(rec, body, seq)
        verify_ballot_signature(ballot, body["signature"], key["public_key"])
    except (VerificationError, InvalidInputError) as e:
        raise VerificationError(f"{where}: {e}") from e
    return enact.CastBallot(seq, ballot.member, str(ballot.choice))


def _key(rec: _Record, body: dict[str, Any], seq: int) -> dict[str, Any]:
    key = rec.keys.get(body["key_id"])
    if key is None or key["seq"] > seq or key["purpose"] != "ballot":
        raise VerificationError(f"key {body['key_id']} was not a registered ballot key")
    if rec.revoked.get(body["key_id"], seq + 1) < seq:
        raise VerificationError(f"key {body['key_id']} was revoked before the ballot")
    principal = rec.principals.get(key["principal_id"], {})
    if (
        key["principal_id"] != body["principal_id"]
        or principal.get("member_id") != body["member_id"]
    ):
        raise VerificationError(
            f"key {body['key_id']} belongs to {key['principal_id']}, not a delegate of"
            f" {body['member_id']}"
        )
    if "delegate" not in principal.get("roles", []):
        raise VerificationError(f"{key['principal_id']} is not a delegate")
    return key


def _normal(value: Any) -> Any:
    """The JSON value as it reads back from the record (tuples to lists, exact floats)."""
    return json.loads(json.dumps(value))


def _compare(path: str, recounted: Any, recorded: Any) -> None:
    """Raise at the first difference, naming its path."""
    if isinstance(recounted, dict) and isinstance(recorded, dict):
        for key in sorted(set(recounted) | set(recorded)):
            _compare(f"{path}.{key}", recounted.get(key), recorded.get(key))
    elif (
        isinstance(recounted, list)
        and isinstance(recorded, list)
        and len(recounted) == len(recorded)
    ):
        for i, (a, b) in enumerate(zip(recounted, recorded, strict=True)):
            _compare(f"{path}[{i}]", a, b)
    elif recounted != recorded:
        raise VerificationError(f"{path}: recounted {recounted!r}, recorded {recorded!r}")
