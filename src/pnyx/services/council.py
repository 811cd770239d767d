"""Council use cases: weight tables, proposals, signed ballots, close and enactment.

Every write: authorise -> one transaction -> read -> pure domain decision -> record. Rejected
requests raise before anything is recorded. Voting opens when a resolution is proposed, so the
weight table it snapshots is the one in force at proposal. Reads live in
:mod:`pnyx.services.council_read`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from pnyx.domain import council as dc
from pnyx.domain import council_enact as enact
from pnyx.domain import council_events as ce
from pnyx.domain.ballot import BallotBody, verify_ballot_signature
from pnyx.domain.governance import PRESETS, Rule, load_rule, parse_rule, verify_rule_fits
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    VerificationError,
)
from pnyx.services.context import ServiceContext, format_time
from pnyx.services.council_dto import BallotView, ResolutionView, WeightTableView
from pnyx.services.council_read import enacted_shares, resolution_view, weight_view
from pnyx.services.record import record
from pnyx.store import council_repo as repo
from pnyx.store.eventstore import lock_log, log_size

DEFAULT_RULE = "simple-majority"
MAX_TITLE = 200

__all__ = [
    "SignedBallot",
    "adopt_weights",
    "cast_ballot",
    "close_due_resolutions",
    "close_resolution",
    "enacted_shares",
    "propose_resolution",
]


def adopt_weights(ctx: ServiceContext, actor: Actor, weights: object) -> WeightTableView:
    """The FIRST weight table, by an operator; later ones only by an update-weights resolution."""
    require_role(actor, Role.OPERATOR)
    table = dc.parse_weights(weights)
    with ctx.db.transaction() as conn:
        if repo.weights_row(conn) is not None:
            raise ConflictError(
                "a weight table is already in force: change it with an update-weights resolution"
            )
        _require_members(conn, table)
        record(conn, ctx, actor, [ce.WeightTableAdopted(1, dc.weights_json(table), "operator")])
        row = repo.weights_row(conn, 1)
    assert row is not None
    return weight_view(row)


def propose_resolution(
    ctx: ServiceContext,
    actor: Actor,
    kind: str,
    payload: object,
    *,
    title: str,
    voting_s: int,
    rule: str | dict[str, Any] | None = None,
) -> ResolutionView:
    """Open a resolution for voting now, for ``voting_s`` seconds (delegates and operators)."""
    require_role(actor, Role.DELEGATE, Role.OPERATOR)
    the_kind = dc.parse_kind(kind)
    typed = dc.parse_payload(the_kind, payload)
    if not title.strip() or len(title) > MAX_TITLE:
        raise InvalidInputError(f"a resolution title must be 1-{MAX_TITLE} characters")
    if voting_s < 1:
        raise InvalidInputError(f"the voting window must last >= 1 s, got {voting_s}")
    with ctx.db.transaction() as conn:
        table = _current_table(conn)
        the_rule = _rule(conn, the_kind, rule)
        verify_rule_fits(the_rule, table.electorate())
        _check_payload(conn, typed)
        opens = ctx.clock()
        window = dc.Window(opens, opens + timedelta(seconds=voting_s))
        lock_log(conn)
        rid = f"res-{repo.resolution_count(conn) + 1:04d}"
        event = ce.ResolutionProposed(
            resolution_id=rid,
            kind=str(the_kind),
            title=title.strip(),
            terms=typed.to_json(),
            rule=the_rule.to_mapping(),
            weights_version=table.version,
            opens_at=format_time(window.opens_at),
            closes_at=format_time(window.closes_at),
        )
        record(conn, ctx, actor, [event])
        row = repo.resolution_row(conn, rid)
    assert row is not None
    return resolution_view(row)


@dataclass(frozen=True)
class SignedBallot:
    """A ballot body with its signature; ``principal_id`` / ``key_id`` narrow the signer."""

    body: BallotBody
    signature: str
    principal_id: str | None = None
    key_id: str | None = None


def cast_ballot(ctx: ServiceContext, actor: Actor, ballot: SignedBallot) -> BallotView:
    """Record a signed ballot; a delegate may submit only its own member's ballots."""
    require_role(actor, Role.DELEGATE, Role.OPERATOR)
    body = ballot.body
    if actor.has(Role.DELEGATE) and not actor.has(Role.OPERATOR):
        if actor.member_id != body.member:
            raise PermissionDeniedError(
                f"{actor.principal_id} is a delegate of {actor.member_id}, not of {body.member}"
            )
        if ballot.principal_id not in (None, actor.principal_id):
            raise PermissionDeniedError(f"{actor.principal_id} may only submit its own ballots")
        ballot = SignedBallot(body, ballot.signature, actor.principal_id, ballot.key_id)
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)  # serialise with a concurrent close of the same resolution
        row = _open_resolution(conn, body.resolution)
        window = _window(row)
        window.require_open(dc.parse_time(body.cast_at, "cast_at"), "the ballot's cast_at")
        window.require_open(ctx.clock(), "the server's time")
        _require_eligible(conn, row, body.member)
        principal_id, key_id = _signer(conn, ballot)
        event = ce.BallotCast(
            body.resolution,
            body.member,
            str(body.choice),
            body.cast_at,
            principal_id,
            key_id,
            ballot.signature,
        )
        rec = record(conn, ctx, actor, [event])[0]
    return BallotView(
        seq=rec.seq,
        member_id=event.member_id,
        choice=event.choice,
        cast_at=event.cast_at,
        principal_id=principal_id,
        key_id=key_id,
        signature=event.signature,
        counted=True,
    )


def close_resolution(ctx: ServiceContext, actor: Actor, resolution_id: str) -> ResolutionView:
    """Close a resolution (operators): after its window, or early once every eligible member
    has voted (no ballot could change then except by changing a vote, which an early close
    forecloses: this is the documented trade-off)."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)
        row = _open_resolution(conn, resolution_id)
        if _window(row).contains(ctx.clock()):
            _require_all_voted(conn, row)
        _close(conn, ctx, actor, row)
        closed = repo.resolution_row(conn, resolution_id)
    assert closed is not None
    return resolution_view(closed)


def close_due_resolutions(ctx: ServiceContext) -> list[str]:
    """Close (and enact, when passed) every open resolution whose window has ended."""
    with ctx.db.read() as conn:
        rows = repo.resolution_rows(conn, str(dc.ResolutionStatus.OPEN))
    now = ctx.clock()
    closed: list[str] = []
    for row in rows:
        if now >= _window(row).closes_at:
            with ctx.db.transaction() as conn:
                log_size(conn, lock=True)
                fresh = repo.resolution_row(conn, row["resolution_id"])
                if fresh is None or fresh["status"] != dc.ResolutionStatus.OPEN:
                    continue
                _close(conn, ctx, Actor.system(), fresh)
            closed.append(row["resolution_id"])
    return closed


# --- helpers ------------------------------------------------------------------------------------


def _close(conn: Connection, ctx: ServiceContext, actor: Actor, row: dict[str, Any]) -> None:
    table = _table(conn, row["weights_version"])
    ballots = [
        enact.CastBallot(b["seq"], b["member_id"], b["choice"])
        for b in repo.ballot_rows(conn, row["resolution_id"])
    ]
    result, closed = enact.close_events(
        row["resolution_id"], parse_rule(row["rule"]), table, ballots
    )
    events: list[Any] = [closed]
    if result.passed:
        kind = dc.parse_kind(row["kind"])
        payload = dc.parse_payload(kind, row["payload"])
        latest = repo.weights_row(conn)
        next_version = (latest["version"] if latest else 0) + 1
        events.append(ce.ResolutionEnacted(row["resolution_id"], str(kind)))
        events += _enactable(
            conn, enact.enactment_events(row["resolution_id"], payload, table, next_version)
        )
    record(conn, ctx, actor, events)


def _enactable(conn: Connection, events: list[Any]) -> list[Any]:
    """Drop an admission that another resolution already enacted (enactment is idempotent)."""
    members = repo.member_ids(conn)
    return [
        e
        for e in events
        if getattr(e, "KIND", "") != "member.admitted" or e.member_id not in members
    ]


def _rule(conn: Connection, kind: dc.ResolutionKind, spec: str | dict[str, Any] | None) -> Rule:
    if spec is not None:
        return load_rule(spec)
    enacted = repo.rule_row(conn, str(kind))
    if enacted is not None:
        return parse_rule(json.loads(enacted["rule"]))
    return PRESETS[DEFAULT_RULE]


def _table(conn: Connection, version: int | None = None) -> dc.WeightTable:
    row = repo.weights_row(conn, version)
    if row is None:
        raise NotFoundError(f"weight table version {version} does not exist")
    return dc.WeightTable(row["version"], dc.parse_weights(row["weights"]))


def _current_table(conn: Connection) -> dc.WeightTable:
    if repo.weights_row(conn) is None:
        raise ConflictError(
            "no weight table yet: an operator sets the first one (council weights set)"
        )
    return _table(conn)


def _require_members(conn: Connection, weights: dict[str, Any]) -> None:
    unknown = sorted(set(weights) - repo.member_ids(conn))
    if unknown:
        raise NotFoundError(f"weight table names members that are not admitted: {unknown}")


def _check_payload(conn: Connection, payload: dc.Payload) -> None:
    match payload:
        case dc.ProgrammeShares(shares=shares):
            _require_programmes(conn, set(shares))
        case dc.MemberShares(programme_id=pid, shares=shares):
            _require_programmes(conn, {pid})
            if shares is not None:
                _require_members(conn, dict(shares))
        case dc.AdmitMember(member_id=member_id):
            if member_id in repo.member_ids(conn):
                raise ConflictError(f"member {member_id!r} is already admitted")
        case dc.UpdateWeights(weights=weights):
            _require_members(conn, dict(weights))


def _require_programmes(conn: Connection, wanted: set[str]) -> None:
    unknown = sorted(wanted - repo.programme_ids(conn))
    if unknown:
        raise NotFoundError(f"unknown programme(s) {unknown}: declare them first")


def _open_resolution(conn: Connection, resolution_id: str) -> dict[str, Any]:
    row = repo.resolution_row(conn, resolution_id)
    if row is None:
        raise NotFoundError(f"unknown resolution {resolution_id!r}")
    if row["status"] != dc.ResolutionStatus.OPEN:
        raise ConflictError(f"resolution {resolution_id} is closed ({row['status']})")
    return row


def _window(row: dict[str, Any]) -> dc.Window:
    return dc.Window(
        dc.parse_time(row["opens_at"], "opens_at"), dc.parse_time(row["closes_at"], "closes_at")
    )


def _require_eligible(conn: Connection, row: dict[str, Any], member: str) -> None:
    table = _table(conn, row["weights_version"])
    if member not in table.weights:
        raise PermissionDeniedError(
            f"member {member!r} is not in the electorate of {row['resolution_id']}"
            f" (weight table v{table.version})"
        )
    if member not in enact.eligible_members(parse_rule(row["rule"]), table):
        raise PermissionDeniedError(
            f"member {member!r} may not vote on {row['resolution_id']} under rule"
            f" {row['rule_name']} (suspended or filtered out)"
        )


def _require_all_voted(conn: Connection, row: dict[str, Any]) -> None:
    eligible = enact.eligible_members(parse_rule(row["rule"]), _table(conn, row["weights_version"]))
    voted = {b["member_id"] for b in repo.ballot_rows(conn, row["resolution_id"])}
    missing = sorted(eligible - voted)
    if missing:
        raise ConflictError(
            f"resolution {row['resolution_id']} is open until {row['closes_at']}; it may close"
            f" early only when every eligible member has voted (missing: {', '.join(missing)})"
        )


def _signer(conn: Connection, ballot: SignedBallot) -> tuple[str, str]:
    """The (principal, key) whose registered ballot key verifies the signature, or raise why."""
    member = ballot.body.member
    delegates = [r["principal_id"] for r in repo.delegate_rows(conn, member)]
    if ballot.principal_id is not None and ballot.principal_id not in delegates:
        raise PermissionDeniedError(
            f"principal {ballot.principal_id!r} is not a delegate of {member}"
        )
    candidates = [ballot.principal_id] if ballot.principal_id else delegates
    keys = [
        k
        for k in repo.ballot_key_rows(conn, candidates)
        if ballot.key_id is None or k["key_id"] == ballot.key_id
    ]
    if not keys:
        raise PermissionDeniedError(f"no ballot key is registered for a delegate of {member}")
    live = [k for k in keys if k["revoked_at"] is None]
    if not live:
        raise PermissionDeniedError(f"the ballot keys of {member}'s delegates are revoked")
    failure: VerificationError | None = None
    for key in live:
        try:
            verify_ballot_signature(ballot.body, ballot.signature, key["public_key"])
        except VerificationError as e:  # try the next registered key
            failure = e
            continue
        return key["principal_id"], key["key_id"]
    assert failure is not None
    raise failure
