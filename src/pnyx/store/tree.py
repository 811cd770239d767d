"""The Merkle tree over the log, kept incrementally in the database.

Every complete subtree's hash is kept once as (level, idx): level 0 (the leaf hashes) in
``events.leaf_hash``, the even levels from 2 in ``tree_nodes``; an odd level is one hash of its
two children away. Appending a leaf adds one third of a ``tree_nodes`` row on average (not two);
any inclusion or consistency proof, for any earlier tree size, is composed from stored hashes
fetched in one query, without rehashing the log.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, TextClause, select, text, update

from pnyx.errors import InvalidInputError
from pnyx.ledger import merkle
from pnyx.store import tables as t
from pnyx.store.bulk import insert_rows

Ref = tuple[int, int]


def is_stored(level: int) -> bool:
    """True for the levels kept in ``tree_nodes`` (even levels from 2); level 0 is
    ``events.leaf_hash`` and an odd level is hashed from its two children on demand."""
    return level >= 2 and not level & 1


def fetch_nodes(conn: Connection, refs: Iterable[Ref]) -> dict[Ref, bytes]:
    """Hashes of the complete subtrees ``refs``; raises if one is missing from the store."""
    return _fetch(conn, refs, None)


def _fetch_within(conn: Connection, refs: Iterable[Ref], size: int) -> dict[Ref, bytes]:
    """Like fetch_nodes, after checking that the log has ``size`` entries: one query."""
    return _fetch(conn, refs, size)


def _fetch(conn: Connection, refs: Iterable[Ref], size: int | None) -> dict[Ref, bytes]:
    wanted = sorted(set(refs))
    reads = sorted({r for ref in wanted for r in _sources(ref)})
    found: dict[Ref, bytes] = {}
    first = True
    for i in range(0, max(len(reads), 1), _CHUNK):
        part, current = _query(conn, reads[i : i + _CHUNK], with_head=first and size is not None)
        if first and size is not None:
            _require_size(size, current)
        found.update(part)
        first = False
    missing = [r for r in reads if r not in found]
    if missing:
        raise InvalidInputError(f"tree nodes missing from the store: {missing[:3]}")
    out: dict[Ref, bytes] = {}
    for level, idx in wanted:
        if level & 1:  # an odd level: from its two children (level 0 or an even level)
            left, right = found[(level - 1, 2 * idx)], found[(level - 1, 2 * idx + 1)]
            out[(level, idx)] = merkle.node_hash(left, right)
        else:
            out[(level, idx)] = found[(level, idx)]
    return out


def _sources(ref: Ref) -> tuple[Ref, ...]:
    """What is read for ``ref``: itself, or the two children of an odd-level node."""
    level, idx = ref
    if level & 1:
        return (level - 1, 2 * idx), (level - 1, 2 * idx + 1)
    return (ref,)


def _query(
    conn: Connection, refs: Sequence[Ref], *, with_head: bool
) -> tuple[dict[Ref, bytes], int]:
    """(hashes of ``refs`` found (levels 0 and even), the log size or -1 without ``with_head``)."""
    leaves = [ix for lv, ix in refs if lv == 0]
    nodes = [r for r in refs if r[0] != 0]
    found: dict[Ref, bytes] = {}
    current = 0 if with_head else -1
    if not (refs or with_head):
        return found, current
    rows: Sequence[Sequence[Any]]
    if conn.dialect.name == "postgresql":
        # Straight to psycopg on the same connection (and transaction, if any): SQLAlchemy's
        # statement and result layers cost about as much as the query's round trip here.
        arrays = {  # array literals as text: psycopg's list dumper costs more than the query
            "levels": _pg_array(r[0] for r in nodes),
            "idxs": _pg_array(r[1] for r in nodes),
            "seqs": _pg_array(leaves),
        }
        driver = conn.connection.driver_connection
        assert driver is not None
        rows = driver.execute(_PG_LOOKUP[with_head], arrays).fetchall()
    else:
        params = {f"l{k}": lv for k, (lv, _) in enumerate(nodes)}
        params.update({f"i{k}": ix for k, (_, ix) in enumerate(nodes)})
        params.update({f"s{k}": seq for k, seq in enumerate(leaves)})
        rows = conn.execute(_lookup(len(nodes), len(leaves), with_head), params).all()
    for lv, ix, h in rows:
        if lv == _HEAD_LEVEL:
            current = int(ix)
        else:
            found[(int(lv), int(ix))] = bytes(h)
    return found, current


def _pg_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, e.g. ``{1,2,3}``."""
    return "{" + ",".join(map(str, values)) + "}"


_CHUNK = 100
_HEAD_LEVEL = -1  # the row of a lookup with the head that carries log_state's size

# PostgreSQL: one statement text for any number of nodes (joined against arrays), so the
# server plans it once per connection instead of once per node count.
_PG_NODES = (  # psycopg placeholders: executed on the driver connection
    "SELECT n.level, n.idx, n.hash FROM tree_nodes AS n"
    " JOIN unnest(CAST(%(levels)s AS smallint[]), CAST(%(idxs)s AS bigint[])) AS w(level, idx)"
    " ON n.level = w.level AND n.idx = w.idx"
    " UNION ALL SELECT CAST(0 AS smallint), e.seq, e.leaf_hash FROM events AS e"
    " WHERE e.seq = ANY(CAST(%(seqs)s AS bigint[]))"
)
_PG_HEAD = " UNION ALL SELECT CAST(-1 AS smallint), size, root_hash FROM log_state WHERE id = 1"
_PG_LOOKUP = {False: _PG_NODES, True: _PG_NODES + _PG_HEAD}


@functools.lru_cache(maxsize=512)
def _lookup(nodes: int, leaves: int, with_head: bool) -> TextClause:
    """SQLite: ``nodes`` stored nodes by primary key, ``leaves`` leaf hashes by seq and, with
    ``with_head``, one row (-1, log size, root) from log_state: one statement, built once per
    shape. Each node term is a primary-key lookup (SQLite scans the whole table for a
    row-value IN list)."""
    parts = []
    if nodes:
        terms = " OR ".join(f"(level = :l{k} AND idx = :i{k})" for k in range(nodes))
        parts.append(f"SELECT level, idx, hash FROM tree_nodes WHERE {terms}")  # noqa: S608
    if leaves:
        seqs = ", ".join(f":s{k}" for k in range(leaves))
        parts.append(f"SELECT 0, seq, leaf_hash FROM events WHERE seq IN ({seqs})")  # noqa: S608
    if with_head:
        parts.append("SELECT -1, size, root_hash FROM log_state WHERE id = 1")
    return text(" UNION ALL ".join(parts))


def load_frontier(conn: Connection, size: int) -> list[merkle.Node]:
    """The right-edge complete subtrees of the tree of ``size`` leaves."""
    refs = merkle.frontier_nodes(size)
    hashes = fetch_nodes(conn, refs)
    return [merkle.Node(level=lv, index=ix, hash=hashes[(lv, ix)]) for lv, ix in refs]


def append_leaves(conn: Connection, size: int, leaf_hashes: Sequence[bytes]) -> bytes:
    """Extend the tree of ``size`` leaves by ``leaf_hashes``; returns the new root.

    The leaves themselves must be in ``events.leaf_hash`` already (the caller inserted them).
    """
    created: list[merkle.NodeRow] = []
    frontier = merkle.extend_frontier(load_frontier(conn, size), size, leaf_hashes, created)
    stored = [row for row in created if row[0] >= 2 and not row[0] & 1]  # is_stored, inline
    insert_rows(conn, t.tree_nodes, ("level", "idx", "hash"), stored)
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


def inclusion_with_root(
    conn: Connection, index: int, size: int
) -> tuple[list[bytes], bytes, bytes]:
    """(inclusion proof of leaf ``index`` at ``size``, its leaf hash, the root at ``size``),
    from one query (a proof request is one round trip)."""
    if not 0 <= index < size:
        _check_size(conn, size)
        raise InvalidInputError(f"leaf index {index} out of range for tree size {size}")
    ranges = merkle.inclusion_proof_ranges(index, size)
    head = merkle.frontier_nodes(size)
    stored = _fetch_within(conn, [*_range_refs(ranges), (0, index), *head], size)
    return _hashes(ranges, stored), stored[(0, index)], _root(head, stored)


def consistency_with_roots(
    conn: Connection, old_size: int, new_size: int
) -> tuple[list[bytes], bytes, bytes]:
    """(consistency proof from ``old_size`` to ``new_size``, the two roots), from one query."""
    if not 0 < old_size <= new_size:
        _check_size(conn, new_size)
        raise InvalidInputError(
            f"consistency needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    ranges = merkle.consistency_proof_ranges(old_size, new_size)
    old_head, new_head = merkle.frontier_nodes(old_size), merkle.frontier_nodes(new_size)
    stored = _fetch_within(conn, [*_range_refs(ranges), *old_head, *new_head], new_size)
    return _hashes(ranges, stored), _root(old_head, stored), _root(new_head, stored)


def _range_refs(ranges: Sequence[tuple[int, int]]) -> list[Ref]:
    return [r for s, e in ranges for r in merkle.range_nodes(s, e)]


def _hashes(ranges: Sequence[tuple[int, int]], stored: dict[Ref, bytes]) -> list[bytes]:
    return [merkle.range_hash(s, e, stored) for s, e in ranges]


def _root(refs: Sequence[Ref], stored: dict[Ref, bytes]) -> bytes:
    return merkle.root_from_frontier([merkle.Node(lv, ix, stored[(lv, ix)]) for lv, ix in refs])


def _compose(conn: Connection, ranges: Sequence[tuple[int, int]], size: int) -> list[bytes]:
    refs = [r for s, e in ranges for r in merkle.range_nodes(s, e)]
    stored = _fetch_within(conn, refs, size)
    return [merkle.range_hash(s, e, stored) for s, e in ranges]


def _check_size(conn: Connection, size: int) -> None:
    _require_size(size, tree_head(conn)[0])


def _require_size(size: int, current: int) -> None:
    if not 0 <= size <= current:
        raise InvalidInputError(f"tree size {size} out of range (log has {current} entries)")
