"""Queries over the identity projections."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, select

from pnyx.store import tables as t


def principal_row(conn: Connection, principal_id: str) -> dict[str, Any] | None:
    """The principal's row, or None."""
    row = conn.execute(
        select(t.principals).where(t.principals.c.principal_id == principal_id)
    ).first()
    return dict(row._mapping) if row else None


def member_row(conn: Connection, member_id: str) -> dict[str, Any] | None:
    """The member's row, or None."""
    row = conn.execute(select(t.members).where(t.members.c.member_id == member_id)).first()
    return dict(row._mapping) if row else None


def token_row_by_hash(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The live token whose hash is ``token_hash``, or None."""
    row = conn.execute(
        select(t.api_tokens).where(
            t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return dict(row._mapping) if row else None


def token_row(conn: Connection, token_id: str) -> dict[str, Any] | None:
    """The token's row by id, or None."""
    row = conn.execute(select(t.api_tokens).where(t.api_tokens.c.token_id == token_id)).first()
    return dict(row._mapping) if row else None


def key_row(conn: Connection, key_id: str) -> dict[str, Any] | None:
    """The key's row, or None."""
    row = conn.execute(select(t.principal_keys).where(t.principal_keys.c.key_id == key_id)).first()
    return dict(row._mapping) if row else None


def key_rows(conn: Connection, principal_id: str) -> list[dict[str, Any]]:
    """A principal's keys, oldest first."""
    stmt = (
        select(t.principal_keys)
        .where(t.principal_keys.c.principal_id == principal_id)
        .order_by(t.principal_keys.c.registered_at, t.principal_keys.c.key_id)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def page_rows(
    conn: Connection, table: Table, order: list[Any], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of any projection table and the total row count."""
    total = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    rows = conn.execute(select(table).order_by(*order).offset(offset).limit(limit))
    return [dict(r._mapping) for r in rows], total
