"""Queries the dispatcher needs beyond the job projections: usage already imported, who owns
an award in the fair-share tree, the store's own name for its engines."""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import Connection, select

from pnyx.domain.dispatch import EngineNamespaceSet
from pnyx.store import tables as t
from pnyx.store import tables_allocation as ta


def imported_runs(conn: Connection, job_ids: Collection[str]) -> set[tuple[str, str, str, str]]:
    """(job id, accelerator type, start, end) of every usage record of ``job_ids``."""
    if not job_ids:
        return set()
    c = ta.usage_records.c
    stmt = select(c.job_id, c.accelerator_type, c.start_at, c.end_at)
    out: set[tuple[str, str, str, str]] = set()
    ids = sorted(job_ids)
    for i in range(0, len(ids), 500):
        for r in conn.execute(stmt.where(c.job_id.in_(ids[i : i + 500]))):
            out.add((r[0], r[1], r[2], r[3]))
    return out


def award_owners(conn: Connection) -> dict[str, tuple[str, str]]:
    """award id -> (member, programme) of every award."""
    c = ta.awards.c
    stmt = select(c.award_id, c.member_id, c.programme_id)
    return {r[0]: (r[1], r[2]) for r in conn.execute(stmt)}


def member_ids(conn: Connection) -> list[str]:
    """Every admitted member state, sorted (the universe an unsplit programme is shared by)."""
    c = t.members.c
    return [r[0] for r in conn.execute(select(c.member_id).order_by(c.member_id))]


def store_namespace(conn: Connection) -> str | None:
    """The namespace this store recorded for its engine jobs, or None before the first."""
    c = t.events.c
    stmt = select(c.entry).where(c.kind == EngineNamespaceSet.KIND).order_by(c.seq).limit(1)
    entry = conn.execute(stmt).scalar()
    if entry is None:
        return None
    return str(json.loads(entry)["body"]["namespace"])
