"""A scratch copy of the public state, rebuilt from public entries only.

A verifier replays the entries it fetched into a fresh in-memory SQLite store (migrated like any
other) with the same projectors as the live system, then asks the same read services for the
public views. Private fields are absent from the public record and replay as None.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

import pnyx.store.projections  # noqa: F401  (registers every projector)
from pnyx.errors import PnyxError, VerificationError
from pnyx.services.context import ServiceContext
from pnyx.store import tables as t
from pnyx.store.db import Database
from pnyx.store.eventstore import RecordedEvent, entry_record, leaf_key, public_event
from pnyx.store.projection import apply_event
from pnyx.store.schema import migrate

_FIELDS = ("seq", "at", "actor", "kind", "v", "visibility", "body")
_TYPES = {"at": str, "actor": str, "kind": str, "v": int, "visibility": str, "body": dict}


class Replica:
    """An in-memory store that public entries are replayed into; use as a context manager."""

    def __init__(self) -> None:
        name = "pnyx_replica_" + secrets.token_hex(6)
        self.db = Database(f"sqlite+pysqlite:///file:{name}?mode=memory&cache=shared&uri=true")
        # A shared in-memory database lives while one connection to it is open.
        self._keeper = self.db.engine.raw_connection()
        migrate(self.db)
        self.ctx = ServiceContext(db=self.db)

    def __enter__(self) -> Replica:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the scratch store."""
        self._keeper.close()
        self.db.dispose()

    def apply(
        self,
        start: int,
        entries: Sequence[bytes],
        leaf_hashes: Sequence[bytes],
        objects: Sequence[dict[str, Any]],
    ) -> None:
        """Replay consecutive entries (already checked canonical, ``seq`` = index), one batch.

        Raises VerificationError naming the first entry that does not decode or replay.
        """
        pairs = zip(entries, objects, strict=True)
        records = [_record(start + i, data, obj) for i, (data, obj) in enumerate(pairs)]
        rows = [_row(rec, h) for rec, h in zip(records, leaf_hashes, strict=True)]
        with self.db.transaction() as conn:
            if rows:
                conn.execute(t.events.insert(), rows)
            for rec in records:
                try:
                    apply_event(conn, rec, public_event(rec))
                except (PnyxError, TypeError, KeyError, SQLAlchemyError) as e:
                    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                    raise VerificationError(f"entry {rec.seq}: cannot replay: {reason}") from e


def _record(index: int, data: bytes, obj: dict[str, Any]) -> RecordedEvent:
    missing = [f for f in _FIELDS if f not in obj]
    if missing:
        raise VerificationError(f"entry {index}: not an event entry (no {', '.join(missing)})")
    wrong = [f for f, kind in _TYPES.items() if type(obj[f]) is not kind]
    if wrong:
        raise VerificationError(f"entry {index}: not an event entry (bad {', '.join(wrong)})")
    return entry_record(obj, data)


def _row(rec: RecordedEvent, leaf_hash: bytes) -> dict[str, Any]:
    return {
        "seq": rec.seq,
        "at": rec.at,
        "actor": rec.actor,
        "kind": rec.kind,
        "version": rec.version,
        "visibility": rec.visibility,
        "entry": rec.entry.decode(),
        "leaf_hash": leaf_hash,
        "leaf_key": leaf_key(rec.seq, leaf_hash),
    }
