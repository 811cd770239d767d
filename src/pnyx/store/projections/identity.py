"""Projectors for principals, tokens, keys and members."""

from __future__ import annotations

from sqlalchemy import Connection, update

from pnyx.domain import identity as d
from pnyx.domain.events import Event
from pnyx.store import tables as t
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(d.MemberAdmitted)
def _member_admitted(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.MemberAdmitted)
    conn.execute(
        t.members.insert().values(
            member_id=ev.member_id, name=ev.name, admitted_at=rec.at, admitted_seq=rec.seq
        )
    )


@projects(d.PrincipalCreated)
def _principal_created(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.PrincipalCreated)
    conn.execute(
        t.principals.insert().values(
            principal_id=ev.principal_id,
            name=ev.name,
            roles=",".join(ev.roles),
            member_id=ev.member_id,
            created_at=rec.at,
            created_seq=rec.seq,
        )
    )


@projects(d.PrincipalRolesChanged)
def _roles_changed(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.PrincipalRolesChanged)
    conn.execute(
        update(t.principals)
        .where(t.principals.c.principal_id == ev.principal_id)
        .values(roles=",".join(ev.roles))
    )


@projects(d.TokenIssued)
def _token_issued(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.TokenIssued)
    conn.execute(
        t.api_tokens.insert().values(
            token_id=ev.token_id,
            principal_id=ev.principal_id,
            label=ev.label,
            token_hash=ev.token_hash,
            issued_at=rec.at,
        )
    )


@projects(d.TokenRevoked)
def _token_revoked(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.TokenRevoked)
    conn.execute(
        update(t.api_tokens).where(t.api_tokens.c.token_id == ev.token_id).values(revoked_at=rec.at)
    )


@projects(d.KeyRegistered)
def _key_registered(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.KeyRegistered)
    conn.execute(
        t.principal_keys.insert().values(
            key_id=ev.key_id,
            principal_id=ev.principal_id,
            public_key=ev.public_key,
            purpose=ev.purpose,
            registered_at=rec.at,
        )
    )


@projects(d.KeyRevoked)
def _key_revoked(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.KeyRevoked)
    conn.execute(
        update(t.principal_keys)
        .where(t.principal_keys.c.key_id == ev.key_id)
        .values(revoked_at=rec.at)
    )
