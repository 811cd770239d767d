"""Queries over the job projections, and the facts job admission reads (JSON decoded here)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from pnyx.domain.jobs import AwardFacts, Pool
from pnyx.store import tables_allocation as ta
from pnyx.store import tables_datasets as td
from pnyx.store import tables_inventory as ti
from pnyx.store import tables_jobs as tj

_JSON = ("command", "env", "accelerator_types", "datasets", "allocated_nodes")


def _decode(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = row._asdict()
    for key in _JSON:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out


def count_jobs(conn: Connection, states: Collection[str] | None = None) -> int:
    """How many jobs were ever submitted (only those in ``states``, if given)."""
    stmt = select(func.count()).select_from(tj.jobs)
    if states is not None:
        stmt = stmt.where(tj.jobs.c.state.in_(sorted(states)))
    return int(conn.execute(stmt).scalar() or 0)


def job_row(conn: Connection, job_id: str) -> dict[str, Any] | None:
    """The job's row, or None."""
    row = conn.execute(select(tj.jobs).where(tj.jobs.c.job_id == job_id)).first()
    return _decode(row) if row else None


def job_rows(
    conn: Connection,
    states: Collection[str] | None = None,
    cluster: str | None = None,
    project_id: str | None = None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Jobs in submission order (or newest first), optionally only in ``states`` / on
    ``cluster`` / of a project, at most ``limit`` of them."""
    c = tj.jobs.c
    order = c.submitted_seq.desc() if newest_first else c.submitted_seq
    stmt = select(tj.jobs).order_by(order).limit(limit)
    if states is not None:
        stmt = stmt.where(c.state.in_(sorted(states)))
    if cluster is not None:
        stmt = stmt.where(c.cluster == cluster)
    if project_id is not None:
        stmt = stmt.where(c.project_id == project_id)
    return [_decode(r) for r in conn.execute(stmt)]


def history_rows(
    conn: Connection, job_ids: Collection[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """job id -> its state changes in order ({state, reason, at}); all jobs when ``None``."""
    h = tj.job_history.c
    stmt = select(h.job_id, h.state, h.reason, h.at).order_by(h.seq)
    rows: Iterable[Any]
    if job_ids is not None:
        if not job_ids:
            return {}
        if len(job_ids) > 500:  # many: filter here rather than send thousands of parameters
            wanted = set(job_ids)
            rows = (r for r in conn.execute(stmt) if r.job_id in wanted)
        else:
            rows = iter(conn.execute(stmt.where(h.job_id.in_(sorted(job_ids)))).all())
    else:
        rows = iter(conn.execute(stmt).all())
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.job_id, []).append({"state": r.state, "reason": r.reason, "at": r.at})
    return out


def log_row(conn: Connection, job_id: str) -> dict[str, Any] | None:
    """The kept tail of a job's log, or None when none was recorded."""
    row = conn.execute(select(tj.job_logs).where(tj.job_logs.c.job_id == job_id)).first()
    return dict(row._mapping) if row else None


def reserved_seconds(
    conn: Connection, project_id: str, states: Collection[str]
) -> list[tuple[str | None, list[str], int]]:
    """The project's jobs in ``states``, summed: (placed type or None, acceptable types,
    accelerator-seconds of their time limits) per distinct pair (one aggregate query)."""
    c = tj.jobs.c
    seconds = func.sum(c.nodes * c.accelerators_per_node * c.time_limit_s)
    stmt = (
        select(c.accelerator_type, c.accelerator_types, seconds)
        .where(c.project_id == project_id, c.state.in_(sorted(states)))
        .group_by(c.accelerator_type, c.accelerator_types)
    )
    return [(r[0], json.loads(r[1]), int(r[2] or 0)) for r in conn.execute(stmt)]


def is_proposer(conn: Connection, project_id: str, principal_id: str) -> bool:
    """True when ``principal_id`` submitted a proposal for ``project_id``."""
    p = ta.proposals.c
    stmt = select(p.proposal_id).where(p.project_id == project_id, p.proposer_id == principal_id)
    return conn.execute(stmt.limit(1)).first() is not None


def project_exists(conn: Connection, project_id: str) -> bool:
    """True when some proposal names ``project_id``."""
    p = ta.proposals.c
    return (
        conn.execute(select(p.proposal_id).where(p.project_id == project_id).limit(1)).first()
        is not None
    )


def award_facts(conn: Connection, award_id: str) -> AwardFacts | None:
    """What admission needs of an award, or None."""
    a = ta.awards.c
    row = conn.execute(select(ta.awards).where(a.award_id == award_id)).first()
    if row is None:
        return None
    h = ta.award_hours.c
    hours = {
        r.accelerator_type: int(r.accel_hours)
        for r in conn.execute(select(ta.award_hours).where(h.award_id == award_id))
    }
    return AwardFacts(
        award_id=row.award_id,
        project_id=row.project_id,
        hours=dict(sorted(hours.items())),
        containment=row.containment,
        period_start=row.period_start,
        period_end=row.period_end,
    )


def project_hours(conn: Connection, project_id: str) -> dict[str, int]:
    """Accelerator-hours per type over all of a project's awards."""
    h = ta.award_hours.c
    stmt = (
        select(h.accelerator_type, func.sum(h.accel_hours))
        .where(h.project_id == project_id)
        .group_by(h.accelerator_type)
    )
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def pools(conn: Connection, types: Collection[str], accelerators_per_node: int) -> list[Pool]:
    """Nodes of ``types`` with at least ``accelerators_per_node`` accelerators, counted per
    cluster, partition and type, with the containment facts of each."""
    n, c, p = ti.nodes.c, ti.clusters.c, ti.partitions.c
    stmt = (
        select(
            n.cluster_id,
            c.containment,
            n.partition,
            p.containment.label("partition_containment"),
            p.certificate_expires,
            n.accelerator_type,
            func.count().label("nodes"),
        )
        .select_from(
            ti.nodes.join(ti.clusters, c.cluster_id == n.cluster_id).outerjoin(
                ti.partitions, (p.cluster_id == n.cluster_id) & (p.name == n.partition)
            )
        )
        .where(n.accelerator_type.in_(sorted(types)), n.accelerators >= accelerators_per_node)
        .group_by(
            n.cluster_id,
            c.containment,
            n.partition,
            p.containment,
            p.certificate_expires,
            n.accelerator_type,
        )
    )
    return [
        Pool(
            cluster_id=r.cluster_id,
            cluster_containment=r.containment,
            partition=r.partition,
            partition_containment=r.partition_containment,
            certificate_expires=r.certificate_expires,
            accelerator_type=r.accelerator_type,
            nodes=int(r.nodes),
        )
        for r in conn.execute(stmt)
    ]


def missing_datasets(conn: Connection, refs: Collection[str]) -> list[str]:
    """The ``name@version`` references among ``refs`` with no such dataset version."""
    if not refs:
        return []
    wanted = {(name, int(version)) for name, _, version in (r.partition("@") for r in refs)}
    c = td.dataset_versions.c
    stmt = select(c.dataset, c.version).where(c.dataset.in_(sorted({n for n, _ in wanted})))
    have = {(r[0], int(r[1])) for r in conn.execute(stmt)}
    return [r for r in refs if (r.partition("@")[0], int(r.partition("@")[2])) not in have]
