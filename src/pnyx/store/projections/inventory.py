"""Projectors for the facility inventory: a declared cluster replaces its pods, partitions and
nodes (bulk inserts); a retired one takes them all away."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete

from pnyx.domain import inventory as d
from pnyx.domain.events import Event, canonical_json
from pnyx.domain.inventory_parse import cluster_from_event
from pnyx.store import tables_inventory as t
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(d.SiteDeclared)
def _site_declared(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.SiteDeclared)
    conn.execute(delete(t.sites).where(t.sites.c.site_id == ev.site_id))
    conn.execute(
        t.sites.insert().values(
            site_id=ev.site_id,
            name=ev.name,
            host_member=ev.host_member,
            location=ev.location,
            declared_at=rec.at,
            declared_seq=rec.seq,
        )
    )


@projects(d.SiteRetired)
def _site_retired(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.SiteRetired)
    conn.execute(delete(t.sites).where(t.sites.c.site_id == ev.site_id))


@projects(d.ClusterRetired)
def _cluster_retired(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.ClusterRetired)
    _remove_cluster(conn, ev.cluster_id)


@projects(d.ClusterDeclared)
def _cluster_declared(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, d.ClusterDeclared)
    cluster = cluster_from_event(ev)
    _remove_cluster(conn, cluster.cluster_id)
    conn.execute(t.clusters.insert().values(_cluster_row(cluster, rec)))
    conn.execute(t.pods.insert(), _pod_rows(cluster))
    if cluster.partitions:
        conn.execute(t.partitions.insert(), _partition_rows(cluster))
    conn.execute(t.nodes.insert(), _node_rows(cluster))


def _remove_cluster(conn: Connection, cluster_id: str) -> None:
    for table in (t.nodes, t.partitions, t.pods, t.clusters):
        conn.execute(delete(table).where(table.c.cluster_id == cluster_id))


def _cluster_row(c: d.ClusterSpec, rec: RecordedEvent) -> dict[str, Any]:
    return {
        "cluster_id": c.cluster_id,
        "site_id": c.site_id,
        "name": c.name,
        "engine": str(c.engine),
        "interconnect": str(c.interconnect),
        "containment": str(c.containment),
        "physically_separate": c.physically_separate,
        "spec": canonical_json(d.render_cluster(c)).decode(),
        "declared_at": rec.at,
        "declared_seq": rec.seq,
    }


def _pod_rows(c: d.ClusterSpec) -> list[dict[str, Any]]:
    return [
        {"pod_id": pod.pod_id, "cluster_id": c.cluster_id, "position": i, "kind": str(pod.kind)}
        for i, pod in enumerate(c.pods)
    ]


def _partition_rows(c: d.ClusterSpec) -> list[dict[str, Any]]:
    return [
        {
            "cluster_id": c.cluster_id,
            "name": p.name,
            "containment": str(p.containment),
            "certificate_expires": p.certificate_expires,
        }
        for p in c.partitions
    ]


def _node_rows(c: d.ClusterSpec) -> list[dict[str, Any]]:
    partition_of = c.partition_of()
    rows = []
    for pod in c.pods:
        part = partition_of.get(pod.pod_id)
        for g in pod.nodes:
            fixed = {
                "cluster_id": c.cluster_id,
                "pod_id": pod.pod_id,
                "accelerator_type": str(g.accelerator_type),
                "accelerators": g.accelerators_per_node,
                "cpus": g.cpus,
                "mem_gib": g.mem_gib,
                "partition": part,
            }
            rows += [{"node_name": name, **fixed} for name in g.node_names()]
    return rows
