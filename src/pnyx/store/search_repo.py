"""Queries over the search-index projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from pnyx.domain.search import ShardIndexRef
from pnyx.store import tables_search as ts


def shard_indexes(conn: Connection, dataset: str, version: int) -> dict[int, ShardIndexRef]:
    """The recorded index of each shard of ``dataset@version``, by shard number."""
    t = ts.search_indexes
    stmt = select(t).where((t.c.dataset == dataset) & (t.c.version == version))
    return {
        row.shard: ShardIndexRef(
            row.shard, row.shard_sha256, row.index_sha256, row.manifest_sha256, row.built_seq
        )
        for row in conn.execute(stmt)
    }


def index_for_shard(conn: Connection, shard_sha256: str) -> tuple[str, str] | None:
    """``(index_sha256, line_root)`` of any recorded index of these shard bytes (for reuse)."""
    t = ts.search_indexes
    stmt = (
        select(t.c.index_sha256, t.c.line_root)
        .where(t.c.shard_sha256 == shard_sha256)
        .order_by(t.c.built_seq.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return (row.index_sha256, row.line_root) if row else None


def indexed_versions(conn: Connection) -> list[dict[str, Any]]:
    """Per indexed dataset version: shards, documents, text and index bytes."""
    t = ts.search_indexes
    rows = conn.execute(select(t).order_by(t.c.dataset, t.c.version, t.c.shard)).mappings()
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["dataset"], row["version"])
        entry = out.setdefault(
            key,
            {"dataset": key[0], "version": key[1], "shards": 0, "documents": 0,
             "text_bytes": 0, "index_bytes": 0},
        )  # fmt: skip
        entry["shards"] += 1
        for name in ("documents", "text_bytes", "index_bytes"):
            entry[name] += row[name]
    return list(out.values())
