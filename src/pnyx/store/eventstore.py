"""Append events to the log and read them back.

Appending writes, for each event, its canonical entry (the ledger leaf data) and, when it has
private fields, the salted payload apart. The Merkle tree over the entries is maintained in the
same transaction by :mod:`pnyx.store.tree`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from pnyx.domain.events import (
    Event,
    canonical_text,
    commitment,
    decode_event,
    event_class,
)
from pnyx.errors import VerificationError
from pnyx.ledger.merkle import leaf_hash
from pnyx.store import tables as t
from pnyx.store.bulk import insert_rows
from pnyx.store.tree import append_leaves


@dataclass(frozen=True)
class RecordedEvent:
    """An event as it stands in the log."""

    seq: int
    at: str
    actor: str
    kind: str
    version: int
    visibility: str
    body: dict[str, Any]
    commitment: str | None
    entry: bytes

    def public_view(self) -> dict[str, Any]:
        """What the public API shows of this event."""
        view: dict[str, Any] = {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "kind": self.kind,
            "v": self.version,
            "visibility": self.visibility,
            "body": self.body,
        }
        if self.commitment is not None:
            view["commitment"] = self.commitment
        return view


def render_entry(seq: int, at: str, actor: str, event: Event, commit: str | None) -> dict[str, Any]:
    """The public entry of an event: the object whose canonical bytes are the ledger leaf."""
    return _entry(seq, at, actor, event, event.public_payload(), commit)


def _entry(
    seq: int, at: str, actor: str, event: Event, body: dict[str, Any], commit: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "kind": event.KIND,
        "v": event.VERSION,
        "visibility": str(event.VISIBILITY),
        "body": body,
    }
    if commit is not None:
        entry["commitment"] = commit
    return entry


_EVENT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "kind",
    "version",
    "visibility",
    "entry",
    "leaf_hash",
    "leaf_key",
)
LEAF_BUCKET_BITS = 12  # leaf_key buckets of 4,096 entries (the migration 0006 freezes it)


def leaf_key(seq: int, leaf: bytes) -> int:
    """``events.leaf_key``: the entry's bucket (``seq >> 12``) above its hash's first 4 bytes.

    Keys grow with ``seq`` bucket by bucket, so an append touches only the last bucket's index
    pages; a lookup by hash probes one key per bucket (:func:`leaf_keys`).
    """
    return ((seq >> LEAF_BUCKET_BITS) << 32) | int.from_bytes(leaf[:4], "big")


def leaf_keys(leaf: bytes, size: int) -> tuple[int, int]:
    """The first and last ``leaf_key`` an entry with hash ``leaf`` can have in a log of
    ``size`` entries (consecutive candidates are 2**32 apart)."""
    last_bucket = max(size - 1, 0) >> LEAF_BUCKET_BITS
    return leaf_key(0, leaf), leaf_key(last_bucket << LEAF_BUCKET_BITS, leaf)


_PRIVATE_COLUMNS = ("seq", "salt", "payload")


class EntryFormat:
    """Canonical entries of one append (one actor, one time), built by concatenation.

    An entry's keys sort as actor, at, body, commitment, kind, seq, v, visibility, so its
    canonical JSON is a prefix shared by the whole batch, the body's canonical JSON, and a
    suffix per event class around the seq: only the body is encoded per event. Gives exactly
    ``canonical_json(render_entry(...))`` (a unit test checks it).
    """

    def __init__(self, actor: str, at: str) -> None:
        head = canonical_text({"actor": actor, "at": at})
        self.prefix = head[:-1] + ',"body":'
        self._classes: dict[type[Event], tuple[str, str]] = {}

    def render(self, seq: int, event: Event, body: dict[str, Any], commit: str | None) -> str:
        """The canonical entry of ``event`` at ``seq`` with public ``body``."""
        parts = self._classes.get(type(event))
        if parts is None:
            kind = ',"kind":' + canonical_text(event.KIND) + ',"seq":'
            tail = ',"v":' + canonical_text(event.VERSION)
            tail += ',"visibility":' + canonical_text(str(event.VISIBILITY)) + "}"
            parts = self._classes[type(event)] = (kind, tail)
        if type(seq) is not int or not 0 <= seq <= _MAX_SEQ:
            raise ValueError(f"entry seq {seq!r} is not a JSON-safe index")
        text = self.prefix + canonical_text(body)
        if commit is not None:
            text += ',"commitment":' + canonical_text(commit)
        return text + parts[0] + str(seq) + parts[1]


_MAX_SEQ = 2**53 - 1


def append_events(
    conn: Connection, events: Sequence[Event], *, actor: str, at: str
) -> list[RecordedEvent]:
    """Append ``events`` in order; returns them as recorded. Call inside a write transaction."""
    size = log_size(conn, lock=True)
    rows: list[tuple[Any, ...]] = []
    private_rows: list[tuple[Any, ...]] = []
    recorded: list[RecordedEvent] = []
    hashes: list[bytes] = []
    render = EntryFormat(actor, at).render
    for seq, event in enumerate(events, size):
        commit = None
        if event.PRIVATE_FIELDS:
            salt = secrets.token_bytes(32)
            private = event.private_payload()
            commit = commitment(salt, private)
            private_rows.append((seq, salt, canonical_text(private)))
        body = event.public_payload()
        text = render(seq, event, body, commit)
        entry = text.encode()
        leaf = leaf_hash(entry)
        hashes.append(leaf)
        kind, version, visibility = event.KIND, event.VERSION, str(event.VISIBILITY)
        rows.append((seq, at, actor, kind, version, visibility, text, leaf, leaf_key(seq, leaf)))
        recorded.append(
            RecordedEvent(seq, at, actor, kind, version, visibility, body, commit, entry)
        )
    if rows:
        insert_rows(conn, t.events, _EVENT_COLUMNS, rows)
        insert_rows(conn, t.event_private, _PRIVATE_COLUMNS, private_rows)
        append_leaves(conn, size, hashes)
    return recorded


def lock_log(conn: Connection) -> None:
    """Serialise this transaction with every other appender now, before it reads counters.

    A service that numbers new objects (``u-00000042``) from a count must call this first: on
    PostgreSQL two transactions would otherwise read the same count and collide (SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers). Under READ COMMITTED each later statement
    sees what the previous lock holder committed.
    """
    log_size(conn, lock=True)


def log_size(conn: Connection, *, lock: bool = False) -> int:
    """Number of entries in the log; with ``lock``, serialise concurrent appenders (PostgreSQL)."""
    stmt = select(t.log_state.c.size).where(t.log_state.c.id == 1)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    size = conn.execute(stmt).scalar()
    if size is None:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    return int(size)


def parse_entry(entry: bytes) -> RecordedEvent:
    """Decode a stored entry (public part only)."""
    return entry_record(json.loads(entry), entry)


def entry_record(obj: dict[str, Any], entry: bytes) -> RecordedEvent:
    """The recorded event an already decoded entry object stands for."""
    return RecordedEvent(
        seq=obj["seq"],
        at=obj["at"],
        actor=obj["actor"],
        kind=obj["kind"],
        version=obj["v"],
        visibility=obj["visibility"],
        body=obj["body"],
        commitment=obj.get("commitment"),
        entry=entry,
    )


def read_entries(
    conn: Connection, start: int = 0, end: int | None = None
) -> Iterator[RecordedEvent]:
    """Public entries with seq in [start, end), in order."""
    stmt = select(t.events.c.entry).where(t.events.c.seq >= start).order_by(t.events.c.seq)
    if end is not None:
        stmt = stmt.where(t.events.c.seq < end)
    for (entry,) in conn.execute(stmt):
        yield parse_entry(entry.encode())


def read_full_events(conn: Connection) -> Iterator[tuple[RecordedEvent, Event]]:
    """Every event with its private fields restored and their commitment checked (for replay)."""
    stmt = (
        select(t.events.c.entry, t.event_private.c.salt, t.event_private.c.payload)
        .select_from(t.events.outerjoin(t.event_private))
        .order_by(t.events.c.seq)
    )
    for entry, salt, payload in conn.execute(stmt):
        rec = parse_entry(entry.encode())
        yield rec, restore_event(rec, salt, payload)


def restore_event(rec: RecordedEvent, salt: bytes | None, payload: str | None) -> Event:
    """Merge public body and private payload, checking the commitment binds them."""
    full = dict(rec.body)
    if rec.commitment is not None:
        if salt is None or payload is None:
            raise VerificationError(f"event {rec.seq}: private payload missing")
        private = json.loads(payload)
        if commitment(salt, private) != rec.commitment:
            raise VerificationError(f"event {rec.seq}: private payload does not match commitment")
        full.update(private)
    return decode_event(rec.kind, rec.version, full)


def public_event(rec: RecordedEvent) -> Event:
    """The event of a public entry alone: its private fields become None (what anyone replays)."""
    cls = event_class(rec.kind, rec.version)
    full = dict(rec.body)
    full.update(dict.fromkeys(cls.PRIVATE_FIELDS))
    return decode_event(rec.kind, rec.version, full)
