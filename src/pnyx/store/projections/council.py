"""Projectors for the Council: weight tables, resolutions, ballots, enacted policy."""

from __future__ import annotations

from sqlalchemy import Connection, delete, update

from pnyx.domain import council_events as ce
from pnyx.domain.council import ResolutionStatus
from pnyx.domain.events import Event, canonical_json
from pnyx.store import tables_council as tc
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


def _text(value: object) -> str:
    return canonical_json(value).decode()


@projects(ce.WeightTableAdopted)
def _weights(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.WeightTableAdopted)
    conn.execute(
        tc.weight_tables.insert().values(
            version=ev.version,
            weights=_text(ev.weights),
            source=ev.source,
            adopted_at=rec.at,
            adopted_seq=rec.seq,
        )
    )


@projects(ce.ResolutionProposed)
def _proposed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.ResolutionProposed)
    conn.execute(
        tc.resolutions.insert().values(
            resolution_id=ev.resolution_id,
            kind=ev.kind,
            title=ev.title,
            payload=_text(ev.terms),
            rule=_text(ev.rule),
            rule_name=str(ev.rule["name"]),
            weights_version=ev.weights_version,
            opens_at=ev.opens_at,
            closes_at=ev.closes_at,
            proposed_by=rec.actor,
            proposed_seq=rec.seq,
            status=str(ResolutionStatus.OPEN),
        )
    )


@projects(ce.BallotCast)
def _ballot(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.BallotCast)
    conn.execute(
        tc.ballots.insert().values(
            seq=rec.seq,
            resolution_id=ev.resolution_id,
            member_id=ev.member_id,
            choice=ev.choice,
            cast_at=ev.cast_at,
            principal_id=ev.principal_id,
            key_id=ev.key_id,
            signature=ev.signature,
        )
    )


@projects(ce.ResolutionClosed)
def _closed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.ResolutionClosed)
    status = ResolutionStatus.PASSED if ev.passed else ResolutionStatus.FAILED
    conn.execute(
        update(tc.resolutions)
        .where(tc.resolutions.c.resolution_id == ev.resolution_id)
        .values(
            status=str(status),
            passed=ev.passed,
            decided_by=ev.decided_by,
            tally=_text(ev.tally),
            closed_at=rec.at,
            closed_seq=rec.seq,
        )
    )


@projects(ce.ResolutionEnacted)
def _enacted(_conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.ResolutionEnacted)  # the policy events that follow carry the change


@projects(ce.ProgrammeSharesEnacted)
def _programme_shares(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.ProgrammeSharesEnacted)
    conn.execute(delete(tc.programme_shares))
    for programme_id, share in sorted(ev.shares.items()):
        conn.execute(
            tc.programme_shares.insert().values(
                programme_id=programme_id,
                share=share,
                resolution_id=ev.resolution_id,
                enacted_seq=rec.seq,
            )
        )


@projects(ce.MemberSharesEnacted)
def _member_shares(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.MemberSharesEnacted)
    table = tc.member_shares
    conn.execute(delete(table).where(table.c.programme_id == ev.programme_id))
    for member_id, share in sorted(ev.shares.items()):
        conn.execute(
            table.insert().values(
                programme_id=ev.programme_id,
                member_id=member_id,
                share=share,
                resolution_id=ev.resolution_id,
                enacted_seq=rec.seq,
            )
        )


@projects(ce.ContainmentApproved, ce.ReleaseApproved)
def _approved(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.ContainmentApproved | ce.ReleaseApproved)
    subject_kind, subject = (
        ("project", ev.project) if isinstance(ev, ce.ContainmentApproved) else ("model", ev.model)
    )
    conn.execute(
        tc.council_approvals.insert().values(
            resolution_id=ev.resolution_id,
            subject_kind=subject_kind,
            subject=subject,
            level=ev.level,
        )
    )


@projects(ce.RuleChanged)
def _rule_changed(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, ce.RuleChanged)
    conn.execute(delete(tc.council_rules).where(tc.council_rules.c.kind == ev.kind))
    conn.execute(
        tc.council_rules.insert().values(
            kind=ev.kind, rule=_text(ev.rule), resolution_id=ev.resolution_id
        )
    )
