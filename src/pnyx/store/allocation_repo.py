"""Queries over the allocation projections (JSON columns are decoded here)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from pnyx.store import tables as t
from pnyx.store import tables_allocation as ta

_JSON = {"budget", "budget_credits", "remaining", "requested", "datasets", "scores"}


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in _JSON & out.keys():
        if out[key] is not None:
            out[key] = json.loads(out[key])
    return out


def call_row(conn: Connection, call_id: str) -> dict[str, Any] | None:
    """The call's row, or None."""
    row = conn.execute(select(ta.calls).where(ta.calls.c.call_id == call_id)).first()
    return _decode(row) if row else None


def call_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every call, newest first."""
    rows = conn.execute(select(ta.calls).order_by(ta.calls.c.opened_seq.desc()))
    return [_decode(r) for r in rows]


def proposal_row(conn: Connection, proposal_id: str) -> dict[str, Any] | None:
    """The proposal's row, or None."""
    stmt = select(ta.proposals).where(ta.proposals.c.proposal_id == proposal_id)
    row = conn.execute(stmt).first()
    return _decode(row) if row else None


def proposal_rows(conn: Connection, call_id: str) -> list[dict[str, Any]]:
    """A call's proposals in submission order."""
    stmt = (
        select(ta.proposals)
        .where(ta.proposals.c.call_id == call_id)
        .order_by(ta.proposals.c.submitted_seq)
    )
    return [_decode(r) for r in conn.execute(stmt)]


def project_member(conn: Connection, project_id: str) -> str | None:
    """The member of a project's first proposal, or None for a new project."""
    stmt = (
        select(ta.proposals.c.member_id)
        .where(ta.proposals.c.project_id == project_id)
        .order_by(ta.proposals.c.submitted_seq)
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def count_rows(conn: Connection, table: Any, **where: str) -> int:
    """Rows of ``table`` matching column == value for each keyword."""
    stmt = select(func.count()).select_from(table)
    for col, value in where.items():
        stmt = stmt.where(table.c[col] == value)
    return int(conn.execute(stmt).scalar() or 0)


def reviewer_rows(conn: Connection) -> list[dict[str, Any]]:
    """Principals holding the reviewer role, by id."""
    stmt = select(t.principals.c.principal_id, t.principals.c.member_id, t.principals.c.roles)
    rows = conn.execute(stmt.order_by(t.principals.c.principal_id))
    return [dict(r._mapping) for r in rows if "reviewer" in r.roles.split(",")]


def conflict_pairs(conn: Connection, call_id: str) -> set[tuple[str, str]]:
    """(reviewer id, proposal id) of every declared conflict in a call."""
    c = ta.review_conflicts.c
    rows = conn.execute(select(c.reviewer_id, c.proposal_id).where(c.call_id == call_id))
    return {(r.reviewer_id, r.proposal_id) for r in rows}


def assignments(conn: Connection, call_id: str) -> dict[str, list[str]]:
    """proposal id -> assigned reviewer ids (sorted)."""
    c = ta.review_assignments.c
    stmt = select(c.proposal_id, c.reviewer_id).where(c.call_id == call_id)
    out: dict[str, list[str]] = {}
    for r in conn.execute(stmt.order_by(c.proposal_id, c.reviewer_id)):
        out.setdefault(r.proposal_id, []).append(r.reviewer_id)
    return out


def review_rows(conn: Connection, call_id: str) -> list[dict[str, Any]]:
    """A call's current reviews, by proposal then reviewer."""
    c = ta.reviews.c
    stmt = select(ta.reviews).where(c.call_id == call_id).order_by(c.proposal_id, c.reviewer_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def award_rows(conn: Connection, **where: str) -> list[dict[str, Any]]:
    """Awards (optionally filtered by column == value) with ``hours`` per type, oldest first."""
    stmt = select(ta.awards)
    for col, value in where.items():
        stmt = stmt.where(ta.awards.c[col] == value)
    awards = [dict(r._mapping) for r in conn.execute(stmt.order_by(ta.awards.c.award_id))]
    hours = _award_hours(conn, [a["award_id"] for a in awards])
    for a in awards:
        a["hours"] = hours.get(a["award_id"], {})
    return awards


def _award_hours(conn: Connection, award_ids: list[str]) -> dict[str, dict[str, int]]:
    if not award_ids:
        return {}
    c = ta.award_hours.c
    out: dict[str, dict[str, int]] = {}
    for r in conn.execute(select(ta.award_hours).where(c.award_id.in_(award_ids))):
        out.setdefault(r.award_id, {})[r.accelerator_type] = int(r.accel_hours)
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def used_seconds(conn: Connection, project_id: str | None = None) -> dict[tuple[str, str], int]:
    """(project, type) -> accelerator-seconds used, for one project or all."""
    c = ta.usage_records.c
    stmt = select(c.project_id, c.accelerator_type, func.sum(c.accel_seconds)).group_by(
        c.project_id, c.accelerator_type
    )
    if project_id is not None:
        stmt = stmt.where(c.project_id == project_id)
    return {(r[0], r[1]): int(r[2]) for r in conn.execute(stmt)}


def usage_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every usage record, in recording order."""
    stmt = select(ta.usage_records).order_by(ta.usage_records.c.recorded_seq)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def billing_table(conn: Connection) -> tuple[int, dict[str, str]]:
    """(version, type -> weight) of the newest billing-weight table; (0, {}) if none."""
    c = ta.billing_weights.c
    version = conn.execute(select(func.max(c.version))).scalar()
    if version is None:
        return 0, {}
    rows = conn.execute(select(c.accelerator_type, c.weight).where(c.version == version))
    return int(version), dict(sorted((r[0], r[1]) for r in rows))
