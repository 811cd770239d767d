"""Queries over the inventory projections: current spec, and aggregates with GROUP BY."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, func, select

from pnyx.domain.inventory import FacilitySpec, SiteSpec
from pnyx.domain.inventory_parse import parse_cluster
from pnyx.store import tables_inventory as t


def current_spec(conn: Connection) -> FacilitySpec | None:
    """The facility as last declared (rebuilt from sites and the clusters' stored specs)."""
    sites = tuple(
        SiteSpec(r.site_id, r.name, r.host_member, r.location)
        for r in conn.execute(select(t.sites).order_by(t.sites.c.site_id))
    )
    stmt = select(t.clusters.c.cluster_id, t.clusters.c.site_id, t.clusters.c.spec)
    clusters = tuple(
        parse_cluster(json.loads(spec), site_id, f"stored cluster {cluster_id}")
        for cluster_id, site_id, spec in conn.execute(stmt.order_by(t.clusters.c.cluster_id))
    )
    if not sites and not clusters:
        return None
    return FacilitySpec(sites, clusters)


def site_rows(conn: Connection, site_id: str | None = None) -> list[dict[str, Any]]:
    """Sites (one, or all by id)."""
    stmt = select(t.sites).order_by(t.sites.c.site_id)
    if site_id is not None:
        stmt = stmt.where(t.sites.c.site_id == site_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def cluster_rows(
    conn: Connection, site_id: str | None = None, cluster_id: str | None = None
) -> list[dict[str, Any]]:
    """Clusters of a site, one cluster, or all; without the stored spec."""
    cols = [c for c in t.clusters.c if c.name != "spec"]
    stmt = _scoped(select(*cols), t.clusters, site_id, cluster_id)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(t.clusters.c.cluster_id))]


def node_stats(
    conn: Connection, site_id: str | None = None, cluster_id: str | None = None
) -> list[tuple[str, str, int, int]]:
    """(cluster_id, accelerator_type, nodes, accelerators) per cluster and type."""
    n = t.nodes.c
    stmt = select(n.cluster_id, n.accelerator_type, func.count(), func.sum(n.accelerators))
    stmt = _scoped(stmt, t.nodes, site_id, cluster_id).group_by(n.cluster_id, n.accelerator_type)
    return [(c, a, int(k), int(s)) for c, a, k, s in conn.execute(stmt)]


def pod_counts(
    conn: Connection, site_id: str | None = None, cluster_id: str | None = None
) -> dict[str, int]:
    """cluster_id -> number of pods."""
    stmt = select(t.pods.c.cluster_id, func.count()).group_by(t.pods.c.cluster_id)
    return {c: int(k) for c, k in conn.execute(_scoped(stmt, t.pods, site_id, cluster_id))}


def partition_stats(
    conn: Connection, site_id: str | None = None, cluster_id: str | None = None
) -> list[dict[str, Any]]:
    """Partitions with their node and accelerator counts, by cluster and name."""
    p, n = t.partitions.c, t.nodes.c
    on = and_(n.cluster_id == p.cluster_id, n.partition == p.name)
    stmt = (
        select(
            p.cluster_id,
            p.name,
            p.containment,
            p.certificate_expires,
            func.count(n.node_name).label("nodes"),
            func.coalesce(func.sum(n.accelerators), 0).label("accelerators"),
        )
        .select_from(t.partitions.outerjoin(t.nodes, on))
        .group_by(p.cluster_id, p.name, p.containment, p.certificate_expires)
        .order_by(p.cluster_id, p.name)
    )
    return [
        dict(r._mapping) for r in conn.execute(_scoped(stmt, t.partitions, site_id, cluster_id))
    ]


def pod_stats(conn: Connection, cluster_id: str) -> list[dict[str, Any]]:
    """Per pod and accelerator type of a cluster: kind, nodes, accelerators (spec order)."""
    pod, n = t.pods.c, t.nodes.c
    stmt = (
        select(
            pod.pod_id,
            pod.kind,
            pod.position,
            n.accelerator_type,
            func.count(n.node_name).label("nodes"),
            func.sum(n.accelerators).label("accelerators"),
        )
        .select_from(t.pods.join(t.nodes, n.pod_id == pod.pod_id))
        .where(pod.cluster_id == cluster_id)
        .group_by(pod.pod_id, pod.kind, pod.position, n.accelerator_type)
        .order_by(pod.position, n.accelerator_type)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def node_page(
    conn: Connection, cluster_id: str | None, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of nodes (all, or one cluster's) by name, and the total count."""
    where: list[ColumnElement[bool]] = []
    if cluster_id is not None:
        where.append(t.nodes.c.cluster_id == cluster_id)
    total = conn.execute(select(func.count()).select_from(t.nodes).where(*where)).scalar()
    stmt = select(t.nodes).where(*where).order_by(t.nodes.c.node_name)
    rows = conn.execute(stmt.offset(offset).limit(limit))
    return [dict(r._mapping) for r in rows], int(total or 0)


def _scoped(
    stmt: Select[Any], table: Table, site_id: str | None, cluster_id: str | None
) -> Select[Any]:
    """``stmt`` limited to one cluster, or to the clusters of one site."""
    if cluster_id is not None:
        stmt = stmt.where(table.c.cluster_id == cluster_id)
    if site_id is not None:
        if table is t.clusters:
            stmt = stmt.where(t.clusters.c.site_id == site_id)
        else:
            of_site = select(t.clusters.c.cluster_id).where(t.clusters.c.site_id == site_id)
            stmt = stmt.where(table.c.cluster_id.in_(of_site))
    return stmt
