"""Where ``pnyx ledger verify`` reads a log: a database (``--data`` / ``--db``) or a live
server's public read API (``--url``). Both implement :class:`pnyx.services.verify.LogSource`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from pnyx.errors import InvalidInputError, PnyxError, VerificationError
from pnyx.ledger import merkle, note
from pnyx.services.context import ServiceContext
from pnyx.services.entrycheck import EntryBatch
from pnyx.services.verify import (
    PublicView,
    Snapshot,
    StoredCheckpoint,
    StoredCosignature,
    jsonable,
)
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl
from pnyx.store import tree
from pnyx.store.db import Database

SNAPSHOT_TRIES = 5


class DbLogSource:
    """A log read straight from its database; ``verifier`` is the log's public key."""

    def __init__(
        self, db: Database, verifier: note.Verifier | None = None, batch: int = 10_000
    ) -> None:
        self.db = db
        self.name = make_url(db.url).render_as_string(hide_password=True)
        self._verifier = verifier
        self.batch = batch

    def verifier(self) -> note.Verifier:
        """The log key given at construction."""
        if self._verifier is None:
            raise InvalidInputError(
                "the log has checkpoints but no log key was given to check their signatures: "
                "pass --key NAME+KEYID+BASE64 or the log's key file"
            )
        return self._verifier

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, by size."""
        c = tl.checkpoints.c
        with self.db.read() as conn:
            rows = conn.execute(select(c.size, c.root_hash, c.note).order_by(c.size)).all()
        return [StoredCheckpoint(int(size), bytes(root), text) for size, root, text in rows]

    def cosignatures(self) -> list[StoredCosignature]:
        """Every stored cosignature, by checkpoint size then witness."""
        cs, cp = tl.cosignatures.c, tl.checkpoints.c
        stmt = (
            select(cp.size, cs.witness_id, cs.line)
            .select_from(tl.cosignatures.join(tl.checkpoints, cp.id == cs.checkpoint_id))
            .order_by(cp.size, cs.witness_id)
        )
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        return [StoredCosignature(int(size), wid, line) for size, wid, line in rows]

    def snapshot(self, views: Sequence[PublicView]) -> Snapshot:
        """The head, the table's row count and the views computed over the live store."""
        live = ServiceContext(db=self.db)
        for _ in range(SNAPSHOT_TRIES):
            with self.db.read() as conn:
                size, root, rows, max_seq = _head(conn)
            reported = {v.name: jsonable(v.compute(live)) for v in views}
            with self.db.read() as conn:
                if _head(conn)[0] == size:
                    return Snapshot(size, root, reported, rows, max_seq)
        raise PnyxError(f"the log kept growing during {SNAPSHOT_TRIES} snapshots: retry later")

    def entries(self, start: int, end: int) -> Iterator[EntryBatch]:
        """Entries by seq from ``start``, ``end - start`` of them at most, in batches."""
        c = t.events.c
        position, last = start, start - 1
        with self.db.read() as conn:
            while position < end:
                stmt = (
                    select(c.seq, c.entry, c.leaf_hash)
                    .where(c.seq > last)
                    .order_by(c.seq)
                    .limit(min(self.batch, end - position))
                )
                rows = conn.execute(stmt).all()
                if not rows:
                    return
                yield EntryBatch(
                    position, [r[1].encode() for r in rows], [bytes(r[2]) for r in rows]
                )
                position, last = position + len(rows), rows[-1][0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """From the stored tree."""
        with self.db.read() as conn:
            return tree.inclusion_proof(conn, index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """From the stored tree."""
        with self.db.read() as conn:
            return tree.consistency_proof(conn, old_size, new_size)


def _head(conn: Connection) -> tuple[int, bytes, int, int | None]:
    """(log_state size, its root, entry rows, largest seq) in one statement (one snapshot)."""
    state = t.log_state.c
    stmt = select(
        select(state.size).where(state.id == 1).scalar_subquery(),
        select(state.root_hash).where(state.id == 1).scalar_subquery(),
        select(func.count()).select_from(t.events).scalar_subquery(),
        select(func.max(t.events.c.seq)).scalar_subquery(),
    )
    size, root, rows, max_seq = conn.execute(stmt).one()
    root_hash = bytes(root) if root is not None else merkle.EMPTY_ROOT
    return int(size or 0), root_hash, int(rows), None if max_seq is None else int(max_seq)


class HttpLogSource:
    """A live server's public read API (no token needed); ``verifier`` pins the log key."""

    def __init__(
        self, url: str, verifier: note.Verifier | None = None, timeout_s: float = 60.0
    ) -> None:
        self.name = url.rstrip("/")
        self._verifier = verifier
        self.client = httpx.Client(base_url=self.name, timeout=timeout_s)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def verifier(self) -> note.Verifier:
        """The pinned key, else the key the server publishes at /api/v1/log/key."""
        if self._verifier is None:
            text = self._get("/api/v1/log/key").text.strip()
            try:
                self._verifier = note.parse_verifier_key(text)
            except InvalidInputError as e:
                raise VerificationError(f"log key from {self.name}: {e}") from e
        return self._verifier

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint from /api/v1/log/checkpoints, oldest first."""
        found: list[StoredCheckpoint] = []
        while True:
            page = self._json("/api/v1/log/checkpoints", offset=len(found), limit=500)
            items = page["items"]
            found += [
                StoredCheckpoint(
                    int(i["size"]), unb64(i["root_hash"], f"checkpoint {i['size']}"), i["note"]
                )
                for i in items
            ]
            if not items or len(found) >= int(page["total"]):
                return found

    def cosignatures(self) -> list[StoredCosignature]:
        """Every cosignature from /api/v1/log/cosignatures, by checkpoint size."""
        found: list[StoredCosignature] = []
        while True:
            page = self._json("/api/v1/log/cosignatures", offset=len(found), limit=500)
            items = page["items"]
            found += [
                StoredCosignature(int(i["checkpoint_size"]), str(i["witness_id"]), str(i["line"]))
                for i in items
            ]
            if not items or len(found) >= int(page["total"]):
                return found

    def snapshot(self, views: Sequence[PublicView]) -> Snapshot:
        """The head and the views, fetched with no growth of the log in between."""
        for _ in range(SNAPSHOT_TRIES):
            size, root = self._head()
            reported = {v.name: self._view(v) for v in views}
            if self._head()[0] == size:
                return Snapshot(size, root, reported)
        raise PnyxError(f"{self.name}: the log kept growing during {SNAPSHOT_TRIES} snapshots")

    def entries(self, start: int, end: int) -> Iterator[EntryBatch]:
        """Entries from /api/v1/log/entries, up to 1000 per request."""
        position = start
        while position < end:
            page = self._json("/api/v1/log/entries", start=position, end=min(end, position + 1000))
            if int(page["start"]) != position:
                raise VerificationError(
                    f"entry {position}: the server answered from {page['start']}"
                )
            texts: list[str] = page["entries"]
            if not texts:
                return
            yield EntryBatch(position, [e.encode() for e in texts])
            position += len(texts)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """From /api/v1/log/proof/inclusion."""
        answer = self._json("/api/v1/log/proof/inclusion", index=index, size=size)
        return [unb64(h, "inclusion proof") for h in answer["proof"]]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """From /api/v1/log/proof/consistency."""
        answer = self._json("/api/v1/log/proof/consistency", old=old_size, new=new_size)
        return [unb64(h, "consistency proof") for h in answer["proof"]]

    def _head(self) -> tuple[int, bytes]:
        head = self._json("/api/v1/log/head")
        return int(head["size"]), unb64(head["root_hash"], "log head root")

    def _view(self, view: PublicView) -> Any:
        answer = self._json(view.path)
        return answer[view.field] if view.field is not None else answer

    def _json(self, path: str, **params: Any) -> Any:
        try:
            return self._get(path, **params).json()
        except ValueError as e:
            raise PnyxError(f"{self.name}{path}: the answer is not JSON") from e

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError as e:
            raise PnyxError(f"cannot reach {self.name}: {e}") from e
        if response.status_code >= 400:
            raise PnyxError(
                f"{self.name}{path}: HTTP {response.status_code}: {response.text[:200]}"
            )
        return response


def unb64(text: str, what: str) -> bytes:
    """Decode standard base64 from a source, or raise VerificationError naming ``what``."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise VerificationError(f"{what}: {text!r} is not base64") from e
