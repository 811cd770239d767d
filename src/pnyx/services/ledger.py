"""The public read side of the log: head, entries, inclusion and consistency proofs, tiles.

Everything here is public and read-only. Proofs default to the size of the latest checkpoint
(what a client can check a signature on), or to the current tree size before the first one.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import Connection

from pnyx.errors import InvalidInputError, NotFoundError, PnyxError
from pnyx.ledger import merkle, tiles
from pnyx.services.checkpoints import checkpoint_view
from pnyx.services.context import ServiceContext
from pnyx.services.ledger_dto import (
    ConsistencyProofView,
    EntriesView,
    InclusionProofView,
    LogHeadView,
)
from pnyx.store import ledger_repo as repo
from pnyx.store import tree

MAX_ENTRIES = 1000


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode()


def log_head(ctx: ServiceContext) -> LogHeadView:
    """The current tree size and root, and the latest checkpoint."""
    with ctx.db.read() as conn:
        size, root = tree.tree_head(conn)
        latest = repo.latest_checkpoint(conn)
    checkpoint = checkpoint_view(latest) if latest else None
    return LogHeadView(size=size, root_hash=b64(root), checkpoint=checkpoint)


def read_entries(ctx: ServiceContext, start: int, end: int | None = None) -> EntriesView:
    """Entries [start, end) as stored; ``end`` is clamped to the log and to 1000 entries."""
    with ctx.db.read() as conn:
        size, _ = tree.tree_head(conn)
        if not 0 <= start <= size:
            raise InvalidInputError(f"start {start} is outside the log (0..{size})")
        if end is not None and end <= start:
            raise InvalidInputError(f"end {end} must be greater than start {start}")
        stop = min(size, start + MAX_ENTRIES, size if end is None else end)
        entries = repo.entry_texts(conn, start, stop)
    return EntriesView(start=start, end=stop, entries=entries)


def prove_inclusion(
    ctx: ServiceContext,
    *,
    index: int | None = None,
    leaf_hash: str | None = None,
    size: int | None = None,
) -> InclusionProofView:
    """Inclusion proof of the entry at ``index`` or with base64 ``leaf_hash``.

    Read without a transaction (``Database.read_once``): stored tree nodes never change and
    the proof query checks the log size itself, so a proof at a given size is one round trip.
    """
    if (index is None) == (leaf_hash is None):
        raise InvalidInputError("give exactly one of index and leaf_hash")
    wanted = parse_hash(leaf_hash, "leaf_hash") if leaf_hash is not None else None

    def prove(conn: Connection) -> InclusionProofView:
        at = _size_or_default(conn, size)
        where = _index_of(conn, wanted, at) if wanted is not None else index
        assert where is not None
        proof, leaf, root = tree.inclusion_with_root(conn, where, at)
        return InclusionProofView(
            index=where,
            size=at,
            root_hash=b64(root),
            leaf_hash=b64(leaf),
            proof=[b64(h) for h in proof],
        )

    return ctx.db.read_once(prove)


def prove_consistency(
    ctx: ServiceContext, old_size: int, new_size: int | None = None
) -> ConsistencyProofView:
    """Consistency proof from ``old_size`` to ``new_size`` (default: the latest checkpoint);
    one round trip when ``new_size`` is given (see :func:`prove_inclusion`)."""

    def prove(conn: Connection) -> ConsistencyProofView:
        at = _size_or_default(conn, new_size)
        proof, old_root, new_root = tree.consistency_with_roots(conn, old_size, at)
        return ConsistencyProofView(
            old_size=old_size,
            new_size=at,
            old_root=b64(old_root),
            new_root=b64(new_root),
            proof=[b64(h) for h in proof],
        )

    return ctx.db.read_once(prove)


def read_tile(ctx: ServiceContext, path: str) -> bytes:
    """A C2SP tlog-tiles resource: a hash tile ``L/N[.p/W]`` or an entry bundle."""
    tile = tiles.parse_tile_path(path)
    with ctx.db.read() as conn:
        size, _ = tree.tree_head(conn)
        if tile.min_tree_size > size:
            raise NotFoundError(f"{tile.render()} needs a tree of {tile.min_tree_size} entries")
        if tile.level is None:
            entries = repo.entry_texts(conn, tile.first_node, tile.first_node + tile.width)
            items = [e.encode() for e in entries]
        else:
            items = repo.node_hashes(conn, tile.node_level, tile.first_node, tile.width)
    if len(items) != tile.width:
        raise PnyxError(f"{tile.render()}: the store holds {len(items)} of {tile.width} items")
    return tiles.encode_entry_bundle(items) if tile.level is None else b"".join(items)


def parse_hash(text: str, what: str) -> bytes:
    """Decode a base64 (standard or URL-safe) SHA-256 hash given in a query."""
    cleaned = text.strip().replace(" ", "+")  # '+' arrives as a space when not URL-encoded
    try:
        raw = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInputError(f"{what} {text!r} is not base64") from e
    if len(raw) != merkle.HASH_SIZE:
        raise InvalidInputError(f"{what} has {len(raw)} bytes, expected {merkle.HASH_SIZE}")
    return raw


def _size_or_default(conn: Connection, size: int | None) -> int:
    if size is not None:
        return size
    latest = repo.latest_checkpoint(conn)
    return latest.size if latest else tree.tree_head(conn)[0]


def _index_of(conn: Connection, leaf_hash: bytes, size: int) -> int:
    index = repo.leaf_index(conn, leaf_hash, size)
    if index is None:
        raise NotFoundError(f"no entry with leaf hash {b64(leaf_hash)} in the tree of size {size}")
    return index
