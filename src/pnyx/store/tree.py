"""The Merkle tree over the log, kept incrementally in the database.

Every complete subtree's hash is stored once as (level, idx). Appending a leaf adds O(log n)
rows; any inclusion or consistency proof, for any earlier tree size, is composed from stored
subtree hashes fetched in one query, without rehashing the log.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Executable,
    Select,
    SmallInteger,
    and_,
    bindparam,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)

from pnyx.errors import InvalidInputError
from pnyx.ledger import merkle
from pnyx.store import tables as t
from pnyx.store.bulk import insert_rows

Ref = tuple[int, int]


def fetch_nodes(conn: Connection, refs: Iterable[Ref]) -> dict[Ref, bytes]:
    """Stored hashes of the complete subtrees ``refs``; raises if one is missing."""
    wanted = sorted(set(refs))
    found: dict[Ref, bytes] = {}
    for i in range(0, len(wanted), _CHUNK):
        found.update(_query(conn, wanted[i : i + _CHUNK], with_head=False)[0])
    _require_all(wanted, found)
    return found


def _fetch_within(conn: Connection, refs: Iterable[Ref], size: int) -> dict[Ref, bytes]:
    """Like fetch_nodes, after checking that the log has ``size`` entries: one query."""
    wanted = sorted(set(refs))
    found, current = _query(conn, wanted[:_CHUNK], with_head=True)
    _require_size(size, current)
    for i in range(_CHUNK, len(wanted), _CHUNK):
        found.update(_query(conn, wanted[i : i + _CHUNK], with_head=False)[0])
    _require_all(wanted, found)
    return found


def _query(
    conn: Connection, refs: Sequence[Ref], *, with_head: bool
) -> tuple[dict[Ref, bytes], int]:
    """(hashes of ``refs`` found, the log size or -1 without ``with_head``)."""
    if not refs and not with_head:
        return {}, -1
    if conn.dialect.name == "postgresql":
        stmt: Executable = _PG_LOOKUP[with_head]
        params: dict[str, Any] = {"levels": [r[0] for r in refs], "idxs": [r[1] for r in refs]}
    else:
        stmt = _lookup(len(refs), with_head)
        params = {f"l{k}": lv for k, (lv, _) in enumerate(refs)}
        params.update({f"i{k}": ix for k, (_, ix) in enumerate(refs)})
    found: dict[Ref, bytes] = {}
    current = 0 if with_head else -1
    for lv, ix, h in conn.execute(stmt, params):
        if lv == _HEAD_LEVEL:
            current = int(ix)
        else:
            found[(lv, ix)] = bytes(h)
    return found, current


def _require_all(wanted: Sequence[Ref], found: dict[Ref, bytes]) -> None:
    missing = [r for r in wanted if r not in found]
    if missing:
        raise InvalidInputError(f"tree nodes missing from the store: {missing[:3]}")


_CHUNK = 100
_HEAD_LEVEL = -1  # the row of _lookup(..., with_head=True) that carries log_state's size


# PostgreSQL: one statement text for any number of nodes (joined against two arrays), so the
# server plans it once per connection instead of once per node count.
_PG_NODES = (
    "SELECT n.level, n.idx, n.hash FROM tree_nodes AS n"
    " JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx)"
    " ON n.level = w.level AND n.idx = w.idx"
)
_PG_NODES_AND_HEAD = (  # the same, plus the log_state row (level -1 = _HEAD_LEVEL)
    "SELECT n.level, n.idx, n.hash FROM tree_nodes AS n"
    " JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx)"
    " ON n.level = w.level AND n.idx = w.idx"
    " UNION ALL SELECT CAST(-1 AS smallint), size, root_hash FROM log_state WHERE id = 1"
)
_PG_LOOKUP = {False: text(_PG_NODES), True: text(_PG_NODES_AND_HEAD)}


@functools.lru_cache(maxsize=2 * _CHUNK + 2)
def _lookup(
    count: int, with_head: bool
) -> CompoundSelect[int, int, bytes] | Select[int, int, bytes]:
    """``(level = :l0 AND idx = :i0) OR ...`` for ``count`` nodes, built once per count; with
    ``with_head``, plus one row (-1, log size, root) from log_state, in the same round trip.

    Each term is a primary-key lookup on SQLite and PostgreSQL alike (SQLite scans the whole
    table for a row-value IN list), and reusing the statement keeps SQLAlchemy's compiled cache
    warm: a proof costs one indexed query, not an expression build.
    """
    state = t.log_state.c
    head = select(literal(_HEAD_LEVEL, SmallInteger), state.size, state.root_hash).where(
        state.id == 1
    )
    if not count:
        return head
    level, idx = t.tree_nodes.c.level, t.tree_nodes.c.idx
    terms = [and_(level == bindparam(f"l{k}"), idx == bindparam(f"i{k}")) for k in range(count)]
    nodes = select(level, idx, t.tree_nodes.c.hash).where(or_(*terms))
    return union_all(nodes, head) if with_head else nodes


def load_frontier(conn: Connection, size: int) -> list[merkle.Node]:
    """The right-edge complete subtrees of the tree of ``size`` leaves."""
    refs = merkle.frontier_nodes(size)
    hashes = fetch_nodes(conn, refs)
    return [merkle.Node(level=lv, index=ix, hash=hashes[(lv, ix)]) for lv, ix in refs]


def append_leaves(conn: Connection, size: int, leaf_hashes: Sequence[bytes]) -> bytes:
    """Extend the tree of ``size`` leaves by ``leaf_hashes``; returns the new root."""
    created: list[merkle.NodeRow] = []
    frontier = merkle.extend_frontier(load_frontier(conn, size), size, leaf_hashes, created)
    insert_rows(conn, t.tree_nodes, ("level", "idx", "hash"), created)
    root = merkle.root_from_frontier(frontier)
    _store_head(conn, size + len(leaf_hashes), root)
    return root


def _store_head(conn: Connection, size: int, root: bytes) -> None:
    res = conn.execute(
        update(t.log_state).where(t.log_state.c.id == 1).values(size=size, root_hash=root)
    )
    if res.rowcount == 0:
        conn.execute(t.log_state.insert().values(id=1, size=size, root_hash=root))


def tree_head(conn: Connection) -> tuple[int, bytes]:
    """Current (size, root hash) of the log."""
    row = conn.execute(select(t.log_state.c.size, t.log_state.c.root_hash)).first()
    if row is None:
        return 0, merkle.root_from_frontier([])
    return int(row[0]), bytes(row[1])


def root_at(conn: Connection, size: int) -> bytes:
    """Root hash of the tree as it was at ``size`` leaves."""
    refs = merkle.frontier_nodes(size) if size >= 0 else []
    hashes = _fetch_within(conn, refs, size)
    return merkle.root_from_frontier([merkle.Node(lv, ix, hashes[(lv, ix)]) for lv, ix in refs])


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        _check_size(conn, size)
        raise InvalidInputError(f"leaf index {index} out of range for tree size {size}")
    return _compose(conn, merkle.inclusion_proof_ranges(index, size), size)


def consistency_proof(conn: Connection, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof between two tree sizes."""
    if not 0 < old_size <= new_size:
        _check_size(conn, new_size)
        raise InvalidInputError(
            f"consistency needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    return _compose(conn, merkle.consistency_proof_ranges(old_size, new_size), new_size)


def _compose(conn: Connection, ranges: Sequence[tuple[int, int]], size: int) -> list[bytes]:
    refs = [r for s, e in ranges for r in merkle.range_nodes(s, e)]
    stored = _fetch_within(conn, refs, size)
    return [merkle.range_hash(s, e, stored) for s, e in ranges]


def _check_size(conn: Connection, size: int) -> None:
    _require_size(size, tree_head(conn)[0])


def _require_size(size: int, current: int) -> None:
    if not 0 <= size <= current:
        raise InvalidInputError(f"tree size {size} out of range (log has {current} entries)")
