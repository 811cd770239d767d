"""The Merkle tree over the log, kept incrementally in the database.

Every complete subtree's hash is stored once as (level, idx). Appending a leaf adds O(log n)
rows; any inclusion or consistency proof, for any earlier tree size, is composed from stored
subtree hashes fetched in one query, without rehashing the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select, tuple_, update

from pnyx.errors import InvalidInputError
from pnyx.ledger import merkle
from pnyx.store import tables as t

Ref = tuple[int, int]


def fetch_nodes(conn: Connection, refs: Iterable[Ref]) -> dict[Ref, bytes]:
    """Stored hashes of the complete subtrees ``refs``; raises if one is missing."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    found: dict[Ref, bytes] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        stmt = select(t.tree_nodes.c.level, t.tree_nodes.c.idx, t.tree_nodes.c.hash).where(
            tuple_(t.tree_nodes.c.level, t.tree_nodes.c.idx).in_(chunk)
        )
        found.update({(lv, ix): bytes(h) for lv, ix, h in conn.execute(stmt)})
    missing = [r for r in wanted if r not in found]
    if missing:
        raise InvalidInputError(f"tree nodes missing from the store: {missing[:3]}")
    return found


def load_frontier(conn: Connection, size: int) -> list[merkle.Node]:
    """The right-edge complete subtrees of the tree of ``size`` leaves."""
    refs = merkle.frontier_nodes(size)
    hashes = fetch_nodes(conn, refs)
    return [merkle.Node(level=lv, index=ix, hash=hashes[(lv, ix)]) for lv, ix in refs]


def append_leaves(conn: Connection, size: int, leaf_hashes: Sequence[bytes]) -> bytes:
    """Extend the tree of ``size`` leaves by ``leaf_hashes``; returns the new root."""
    created: list[merkle.Node] = []
    frontier = merkle.extend_frontier(load_frontier(conn, size), size, leaf_hashes, created)
    if created:
        rows = [{"level": n.level, "idx": n.index, "hash": n.hash} for n in created]
        conn.execute(t.tree_nodes.insert(), rows)
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
    _check_size(conn, size)
    return merkle.root_from_frontier(load_frontier(conn, size))


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    _check_size(conn, size)
    if not 0 <= index < size:
        raise InvalidInputError(f"leaf index {index} out of range for tree size {size}")
    return _compose(conn, merkle.inclusion_proof_ranges(index, size))


def consistency_proof(conn: Connection, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof between two tree sizes."""
    _check_size(conn, new_size)
    if not 0 < old_size <= new_size:
        raise InvalidInputError(
            f"consistency needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    return _compose(conn, merkle.consistency_proof_ranges(old_size, new_size))


def _compose(conn: Connection, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    refs = [r for s, e in ranges for r in merkle.range_nodes(s, e)]
    stored = fetch_nodes(conn, refs)
    return [merkle.range_hash(s, e, stored) for s, e in ranges]


def _check_size(conn: Connection, size: int) -> None:
    current, _ = tree_head(conn)
    if not 0 <= size <= current:
        raise InvalidInputError(f"tree size {size} out of range (log has {current} entries)")
