"""Queries over the dataset projections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from pnyx.store import tables_datasets as td


def _rows(conn: Connection, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(stmt)]


def dataset_row(conn: Connection, name: str) -> dict[str, Any] | None:
    """The dataset's row, or None."""
    rows = _rows(conn, select(td.datasets).where(td.datasets.c.dataset == name))
    return rows[0] if rows else None


def dataset_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every dataset, by name."""
    return _rows(conn, select(td.datasets).order_by(td.datasets.c.dataset))


def version_row(conn: Connection, name: str, version: int) -> dict[str, Any] | None:
    """One version's row (with its canonical manifest text), or None."""
    v = td.dataset_versions
    rows = _rows(conn, select(v).where(v.c.dataset == name, v.c.version == version))
    return rows[0] if rows else None


def version_rows(conn: Connection, name: str) -> list[dict[str, Any]]:
    """A dataset's versions, oldest first."""
    v = td.dataset_versions
    return _rows(conn, select(v).where(v.c.dataset == name).order_by(v.c.version))


def shard_rows(conn: Connection, name: str, version: int) -> list[dict[str, Any]]:
    """A version's shards in manifest order."""
    s = td.dataset_shards
    stmt = select(s).where(s.c.dataset == name, s.c.version == version).order_by(s.c.position)
    return _rows(conn, stmt)


def removal_rows(
    conn: Connection, name: str, up_to_version: int | None = None
) -> list[dict[str, Any]]:
    """Removals recorded for a dataset (up to a version), in the order they were recorded."""
    r = td.dataset_removals
    stmt = select(r).where(r.c.dataset == name)
    if up_to_version is not None:
        stmt = stmt.where(r.c.to_version <= up_to_version)
    return _rows(conn, stmt.order_by(r.c.removed_seq, r.c.record_sha256))
