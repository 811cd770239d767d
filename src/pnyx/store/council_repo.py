"""Queries over the Council projections."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from pnyx.store import tables as t
from pnyx.store import tables_allocation as ta
from pnyx.store import tables_council as tc


def _one(conn: Connection, stmt: Any) -> dict[str, Any] | None:
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def weights_row(conn: Connection, version: int | None = None) -> dict[str, Any] | None:
    """A weight table version (default: the newest), weights decoded, or None."""
    c = tc.weight_tables.c
    stmt = select(tc.weight_tables)
    stmt = stmt.where(c.version == version) if version else stmt.order_by(c.version.desc())
    row = _one(conn, stmt.limit(1))
    if row is not None:
        row["weights"] = json.loads(row["weights"])
    return row


def resolution_row(conn: Connection, resolution_id: str) -> dict[str, Any] | None:
    """A resolution with payload, rule and tally decoded, or None."""
    row = _one(conn, select(tc.resolutions).where(tc.resolutions.c.resolution_id == resolution_id))
    return None if row is None else _decoded(row)


def resolution_rows(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    """Every resolution, oldest first (optionally one status)."""
    stmt = select(tc.resolutions).order_by(tc.resolutions.c.proposed_seq)
    if status is not None:
        stmt = stmt.where(tc.resolutions.c.status == status)
    return [_decoded(dict(r._mapping)) for r in conn.execute(stmt)]


def resolution_count(conn: Connection) -> int:
    """How many resolutions were ever proposed."""
    return int(conn.execute(select(func.count()).select_from(tc.resolutions)).scalar() or 0)


def ballot_rows(conn: Connection, resolution_id: str) -> list[dict[str, Any]]:
    """Every ballot on a resolution, in ledger order."""
    stmt = (
        select(tc.ballots)
        .where(tc.ballots.c.resolution_id == resolution_id)
        .order_by(tc.ballots.c.seq)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def delegate_rows(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    """Principals that are delegates of ``member_id``."""
    stmt = select(t.principals).where(t.principals.c.member_id == member_id)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return [r for r in rows if "delegate" in r["roles"].split(",")]


def ballot_key_rows(conn: Connection, principal_ids: list[str]) -> list[dict[str, Any]]:
    """Ballot keys (revoked ones too) of these principals."""
    k = t.principal_keys.c
    stmt = select(t.principal_keys).where(k.principal_id.in_(principal_ids), k.purpose == "ballot")
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(k.registered_at))]


def programme_ids(conn: Connection) -> set[str]:
    """Declared programmes (the allocation area's registry)."""
    return {r[0] for r in conn.execute(select(ta.programmes.c.programme_id))}


def member_ids(conn: Connection) -> set[str]:
    """Admitted members."""
    return {r[0] for r in conn.execute(select(t.members.c.member_id))}


def rule_row(conn: Connection, kind: str) -> dict[str, Any] | None:
    """The rule enacted for a resolution kind, or None."""
    return _one(conn, select(tc.council_rules).where(tc.council_rules.c.kind == kind))


def share_rows(conn: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Enacted programme shares and member shares."""
    p = conn.execute(select(tc.programme_shares).order_by(tc.programme_shares.c.programme_id))
    m = conn.execute(
        select(tc.member_shares).order_by(
            tc.member_shares.c.programme_id, tc.member_shares.c.member_id
        )
    )
    return [dict(r._mapping) for r in p], [dict(r._mapping) for r in m]


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("payload", "rule", "tally"):
        if row.get(key) is not None:
            row[key] = json.loads(row[key])
    return row
