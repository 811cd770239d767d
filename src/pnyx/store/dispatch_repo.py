"""Queries the dispatcher needs beyond the job projections: usage already imported, who owns
an award in the fair-share tree, the store's own name for its engines."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, delete, select

from pnyx.domain.dispatch import EngineNamespaceSet
from pnyx.domain.jobs import JobPreemptionNoticed
from pnyx.store import tables as t
from pnyx.store import tables_allocation as ta
from pnyx.store import tables_inventory as ti
from pnyx.store import tables_jobs as tj


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


def inventory_nodes(conn: Connection, cluster_ids: Collection[str]) -> list[dict[str, Any]]:
    """The declared nodes of ``cluster_ids`` (name, cluster, pod, type, accelerators,
    partition), by cluster, pod and name."""
    if not cluster_ids:
        return []
    c = ti.nodes.c
    stmt = (
        select(c.node_name, c.cluster_id, c.pod_id, c.accelerator_type, c.accelerators, c.partition)
        .where(c.cluster_id.in_(sorted(cluster_ids)))
        .order_by(c.cluster_id, c.pod_id, c.node_name)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def pending_reasons(conn: Connection) -> dict[str, str]:
    """job id -> why it waits, as the dispatcher last said."""
    c = tj.job_pending.c
    return {r[0]: r[1] for r in conn.execute(select(c.job_id, c.reason))}


def save_pending_reasons(
    conn: Connection, changed: dict[str, str], gone: Collection[str], at: str
) -> None:
    """Write the reasons that changed and drop those of jobs that no longer wait."""
    t = tj.job_pending
    ids = sorted(set(gone) | set(changed))
    for i in range(0, len(ids), 500):
        conn.execute(delete(t).where(t.c.job_id.in_(ids[i : i + 500])))
    if changed:
        rows = [{"job_id": k, "reason": v, "updated_at": at} for k, v in changed.items()]
        conn.execute(t.insert(), rows)


def preemption_notices(
    conn: Connection, job_ids: Collection[str]
) -> dict[str, tuple[str, str, str]]:
    """job id -> (beneficiary, requeue_at, reason) of its latest preemption notice."""
    c = t.events.c
    wanted = set(job_ids)
    stmt = select(c.entry).where(c.kind == JobPreemptionNoticed.KIND).order_by(c.seq)
    out: dict[str, tuple[str, str, str]] = {}
    for (entry,) in conn.execute(stmt):
        body = json.loads(entry)["body"]
        if body["job_id"] in wanted:
            out[body["job_id"]] = (body["beneficiary"], body["requeue_at"], body["reason"])
    return out
