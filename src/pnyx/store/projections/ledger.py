"""Projectors for the log's registered witnesses."""

from __future__ import annotations

from sqlalchemy import Connection

from pnyx.domain.events import Event
from pnyx.domain.witness import WitnessRegistered
from pnyx.store import tables_ledger as t
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(WitnessRegistered)
def _witness_registered(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, WitnessRegistered)
    key_name, key_id, _ = ev.verifier_key.split("+", 2)
    conn.execute(
        t.witnesses.insert().values(
            witness_id=ev.witness_id,
            name=ev.name,
            key_name=key_name,
            key_id=key_id,
            verifier_key=ev.verifier_key,
            member_id=ev.member_id,
            registered_at=rec.at,
            registered_seq=rec.seq,
        )
    )
