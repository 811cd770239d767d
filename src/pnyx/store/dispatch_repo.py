"""Queries the dispatcher needs beyond the job projections: usage already imported, who owns
an award in the fair-share tree, the store's own name for its engines, and the history of
demand and usage its entitlement judge decays (a seed over a horizon, then what is new since
a seq of the log)."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, delete, func, select

from pnyx.domain.accounting import UsageRecorded
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


def pending_entry(conn: Connection, job_id: str) -> tuple[str | None, str | None]:
    """(why queued ``job_id`` waits, since when the dispatcher says so); (None, None) when
    it said nothing."""
    c = tj.job_pending.c
    row = conn.execute(select(c.reason, c.updated_at).where(c.job_id == job_id)).first()
    return (None, None) if row is None else (str(row[0]), str(row[1]))


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


FINAL_STATES = ("succeeded", "failed", "cancelled")
"""A job's last state: its demand on the facility ends there."""


def log_head(conn: Connection) -> int:
    """The seq of the newest event (0 for an empty log)."""
    return int(conn.execute(select(func.max(t.events.c.seq))).scalar() or 0)


def first_submission(conn: Connection) -> str | None:
    """When the store's first job was submitted (None before any job)."""
    c = tj.jobs.c
    first = conn.execute(select(c.submitted_at).order_by(c.submitted_seq).limit(1)).scalar()
    return None if first is None else str(first)


_DEMAND_COLUMNS = (
    tj.jobs.c.job_id,
    tj.jobs.c.award_id,
    tj.jobs.c.project_id,
    tj.jobs.c.submitter,
    tj.jobs.c.nodes,
    tj.jobs.c.accelerators_per_node,
    tj.jobs.c.submitted_at,
)


def ended_since(conn: Connection, cut: str, upto: int) -> list[dict[str, Any]]:
    """Jobs that ended at or after ``cut`` (last changed by event ``upto`` at the latest):
    their owner, size, submission and end times."""
    c = tj.jobs.c
    stmt = select(*_DEMAND_COLUMNS, c.ended_at.label("end_at")).where(
        c.state.in_(FINAL_STATES), c.ended_at >= cut, c.updated_seq <= upto
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def ended_after_seq(conn: Connection, seq: int, upto: int) -> list[dict[str, Any]]:
    """Jobs that reached a final state in an event after ``seq`` up to ``upto`` (a range of
    the history's primary key: what ended since the last pass), as :func:`ended_since`."""
    h = tj.job_history.c
    stmt = (
        select(*_DEMAND_COLUMNS, h.at.label("end_at"))
        .select_from(tj.job_history.join(tj.jobs, tj.jobs.c.job_id == h.job_id))
        .where(h.seq > seq, h.seq <= upto, h.state.in_(FINAL_STATES))
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


_USAGE_COLUMNS = (tj.jobs.c.award_id, tj.jobs.c.project_id, tj.jobs.c.submitter)


def usage_since(conn: Connection, cut: str, upto: int) -> list[dict[str, Any]]:
    """Usage records (recorded by event ``upto`` at the latest) of pnyx jobs that ended at or
    after ``cut``, with the job's owner."""
    u = ta.usage_records.c
    stmt = (
        select(*_USAGE_COLUMNS, u.accel_seconds, u.start_at, u.end_at)
        .select_from(ta.usage_records.join(tj.jobs, tj.jobs.c.job_id == u.job_id))
        .where(u.end_at >= cut, u.recorded_seq <= upto)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def outside_usage_since(conn: Connection, cut: str, upto: int) -> list[dict[str, Any]]:
    """Usage records (recorded by event ``upto`` at the latest) that ended at or after ``cut``
    and belong to no pnyx job (work a site ran outside pnyx, imported by the usage import):
    project, accelerator type, accelerator-seconds, start and end."""
    u = ta.usage_records.c
    j = tj.jobs.c
    stmt = (
        select(u.project_id, u.accelerator_type, u.accel_seconds, u.start_at, u.end_at)
        .select_from(ta.usage_records.outerjoin(tj.jobs, j.job_id == u.job_id))
        .where(u.end_at >= cut, u.recorded_seq <= upto, j.job_id.is_(None))
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def project_awards(conn: Connection) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """project -> its awards (id, the accelerator types it awards hours of), by award id."""
    a, h = ta.awards.c, ta.award_hours.c
    types: dict[str, set[str]] = {}
    for award_id, kind in conn.execute(select(h.award_id, h.accelerator_type)):
        types.setdefault(award_id, set()).add(kind)
    out: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for award_id, project in conn.execute(select(a.award_id, a.project_id).order_by(a.award_id)):
        out.setdefault(project, []).append((award_id, frozenset(types.get(award_id, ()))))
    return out


def usage_upto(conn: Connection, upto: int) -> list[dict[str, Any]]:
    """Every usage record recorded by event ``upto`` at the latest: project,
    accelerator-seconds and end."""
    u = ta.usage_records.c
    stmt = select(u.project_id, u.accel_seconds, u.end_at).where(u.recorded_seq <= upto)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def usage_events_after(conn: Connection, seq: int, upto: int) -> list[dict[str, Any]]:
    """The bodies of the usage records recorded in an event after ``seq`` up to ``upto`` (a
    range of the log's primary key), in log order."""
    c = t.events.c
    kind = UsageRecorded.KIND
    stmt = select(c.entry).where(c.seq > seq, c.seq <= upto, c.kind == kind).order_by(c.seq)
    return [json.loads(e)["body"] for (e,) in conn.execute(stmt)]


def usage_after_seq(
    conn: Connection, seq: int, upto: int, outside: bool = False
) -> list[dict[str, Any]]:
    """Usage records of pnyx jobs recorded in an event after ``seq`` up to ``upto`` (a range
    of the log's primary key), as :func:`usage_since` gives them; with ``outside``, also those
    of no pnyx job, as :func:`outside_usage_since` gives them (with ``"outside": True``)."""
    bodies = usage_events_after(conn, seq, upto)
    ids = sorted({b["job_id"] for b in bodies})
    owners: dict[str, tuple[str, str, str]] = {}
    j = tj.jobs.c
    for i in range(0, len(ids), 500):
        rows = select(j.job_id, *_USAGE_COLUMNS).where(j.job_id.in_(ids[i : i + 500]))
        owners.update({r[0]: (r[1], r[2], r[3]) for r in conn.execute(rows)})
    out = [
        {
            "award_id": owners[b["job_id"]][0],
            "project_id": owners[b["job_id"]][1],
            "submitter": owners[b["job_id"]][2],
            "accel_seconds": b["accel_seconds"],
            "start_at": b["start"],
            "end_at": b["end"],
        }
        for b in bodies
        if b["job_id"] in owners
    ]
    if outside:
        out += [
            {
                "project_id": b["project_id"],
                "accelerator_type": b["accelerator_type"],
                "accel_seconds": b["accel_seconds"],
                "start_at": b["start"],
                "end_at": b["end"],
                "outside": True,
            }
            for b in bodies
            if b["job_id"] not in owners
        ]
    return out
