"""Queries over the log: checkpoints, cosignatures, witnesses, entries and tile hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text

from pnyx.ledger import merkle
from pnyx.store import tables as t
from pnyx.store import tables_ledger as tl
from pnyx.store.eventstore import leaf_keys


@dataclass(frozen=True)
class CheckpointRow:
    """A stored checkpoint."""

    id: int
    size: int
    root_hash: bytes
    issued_at: str
    note: str


def _checkpoint(row: Any) -> CheckpointRow:
    return CheckpointRow(row.id, int(row.size), bytes(row.root_hash), row.issued_at, row.note)


def latest_checkpoint(conn: Connection) -> CheckpointRow | None:
    """The checkpoint of the largest size, or None."""
    stmt = select(tl.checkpoints).order_by(tl.checkpoints.c.size.desc()).limit(1)
    row = conn.execute(stmt).first()
    return _checkpoint(row) if row else None


def checkpoint_by_size(conn: Connection, size: int) -> CheckpointRow | None:
    """The checkpoint of tree size ``size``, or None."""
    row = conn.execute(select(tl.checkpoints).where(tl.checkpoints.c.size == size)).first()
    return _checkpoint(row) if row else None


def checkpoint_page(conn: Connection, offset: int, limit: int) -> tuple[list[CheckpointRow], int]:
    """Checkpoints oldest first, and how many there are."""
    total = int(conn.execute(select(func.count()).select_from(tl.checkpoints)).scalar() or 0)
    stmt = select(tl.checkpoints).order_by(tl.checkpoints.c.size).offset(offset).limit(limit)
    return [_checkpoint(r) for r in conn.execute(stmt)], total


def insert_checkpoint(
    conn: Connection, size: int, root_hash: bytes, issued_at: str, note: str
) -> CheckpointRow:
    """Store a checkpoint; returns it with its id."""
    values = {"size": size, "root_hash": root_hash, "issued_at": issued_at, "note": note}
    result = conn.execute(tl.checkpoints.insert().values(**values))
    (checkpoint_id,) = result.inserted_primary_key or (None,)
    assert checkpoint_id is not None
    return CheckpointRow(int(checkpoint_id), size, root_hash, issued_at, note)


def cosignature_lines(conn: Connection, checkpoint_id: int, limit: int) -> list[str]:
    """The stored cosignature lines of a checkpoint, by witness id."""
    stmt = (
        select(tl.cosignatures.c.line)
        .where(tl.cosignatures.c.checkpoint_id == checkpoint_id)
        .order_by(tl.cosignatures.c.witness_id)
        .limit(limit)
    )
    return [line for (line,) in conn.execute(stmt)]


def cosignature_row(conn: Connection, checkpoint_id: int, witness_id: str) -> dict[str, Any] | None:
    """The witness's cosignature of a checkpoint, or None."""
    stmt = select(tl.cosignatures).where(
        tl.cosignatures.c.checkpoint_id == checkpoint_id,
        tl.cosignatures.c.witness_id == witness_id,
    )
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def cosignature_page(conn: Connection, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every stored cosignature with its checkpoint's size (``checkpoint_size``), by checkpoint
    size then witness id, and how many there are."""
    cs, cp = tl.cosignatures.c, tl.checkpoints.c
    total = int(conn.execute(select(func.count()).select_from(tl.cosignatures)).scalar() or 0)
    stmt = (
        select(cp.size.label("checkpoint_size"), cs.witness_id, cs.key_id, cs.timestamp, cs.line)
        .select_from(tl.cosignatures.join(tl.checkpoints, cp.id == cs.checkpoint_id))
        .order_by(cp.size, cs.witness_id)
        .offset(offset)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)], total


def insert_cosignature(conn: Connection, values: dict[str, Any]) -> None:
    """Store one cosignature."""
    conn.execute(tl.cosignatures.insert().values(**values))


def witness_rows(conn: Connection, key_name: str | None = None) -> list[dict[str, Any]]:
    """Registered witnesses (optionally only those whose key has ``key_name``), by id."""
    stmt = select(tl.witnesses).order_by(tl.witnesses.c.witness_id)
    if key_name is not None:
        stmt = stmt.where(tl.witnesses.c.key_name == key_name)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def witness_row(conn: Connection, witness_id: str) -> dict[str, Any] | None:
    """The witness's row, or None."""
    row = conn.execute(select(tl.witnesses).where(tl.witnesses.c.witness_id == witness_id)).first()
    return dict(row._mapping) if row else None


def witness_key_taken(conn: Connection, verifier_key: str) -> bool:
    """True when ``verifier_key`` is already registered."""
    stmt = select(tl.witnesses.c.witness_id).where(tl.witnesses.c.verifier_key == verifier_key)
    return conn.execute(stmt).first() is not None


def entry_texts(conn: Connection, start: int, end: int) -> list[str]:
    """The stored entries with index in [start, end), in order."""
    stmt = (
        select(t.events.c.entry)
        .where(t.events.c.seq >= start, t.events.c.seq < end)
        .order_by(t.events.c.seq)
    )
    return [entry for (entry,) in conn.execute(stmt)]


# One leaf_key candidate per bucket of 4,096 entries (a recursive CTE generates them), each an
# index probe; then the full hash is compared.
_LEAF_INDEX = text(
    "WITH RECURSIVE k(v) AS (SELECT CAST(:first AS BIGINT)"
    " UNION ALL SELECT v + 4294967296 FROM k WHERE v < :last)"
    " SELECT min(seq) FROM events"
    " WHERE leaf_key IN (SELECT v FROM k) AND leaf_hash = :hash AND seq < :size"
)


def leaf_index(conn: Connection, leaf_hash: bytes, size: int) -> int | None:
    """The first index below ``size`` of an entry whose leaf hash is ``leaf_hash``, or None."""
    if size <= 0:
        return None
    first, last = leaf_keys(leaf_hash, size)
    params = {"first": first, "last": last, "hash": leaf_hash, "size": size}
    seq = conn.execute(_LEAF_INDEX, params).scalar()
    return None if seq is None else int(seq)


def node_hashes(conn: Connection, level: int, start: int, count: int) -> list[bytes]:
    """Hashes of the complete subtrees (level, start .. start + count - 1), in order (fewer
    when the log does not have them all yet)."""
    if level == 0:
        stmt = (
            select(t.events.c.leaf_hash)
            .where(t.events.c.seq >= start, t.events.c.seq < start + count)
            .order_by(t.events.c.seq)
        )
        return [bytes(h) for (h,) in conn.execute(stmt)]
    if level & 1:  # not stored: each from its two children
        below = node_hashes(conn, level - 1, 2 * start, 2 * count)
        return [merkle.node_hash(below[k], below[k + 1]) for k in range(0, len(below) - 1, 2)]
    n = t.tree_nodes.c
    stmt = (
        select(n.hash)
        .where(n.level == level, n.idx >= start, n.idx < start + count)
        .order_by(n.idx)
    )
    return [bytes(h) for (h,) in conn.execute(stmt)]
