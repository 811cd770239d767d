"""Projection tables of the facility inventory: sites, clusters, pods, partitions, nodes.

``clusters.spec`` keeps the cluster's canonical JSON spec (as its last ``ClusterDeclared`` event
carried it), so the current :class:`~pnyx.domain.inventory.FacilitySpec` can be rebuilt for the
next load without expanding nodes. ``nodes`` has one row per node for queries and scheduling.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from pnyx.store.tables import metadata

sites = Table(
    "sites",
    metadata,
    Column("site_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("host_member", String(64), nullable=False),
    Column("location", String(200), nullable=False),
    Column("declared_at", String(32), nullable=False),
    Column("declared_seq", BigInteger, nullable=False),
)

clusters = Table(
    "clusters",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("site_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("engine", String(16), nullable=False),
    Column("interconnect", String(32), nullable=False),
    Column("containment", String(8), nullable=False),
    Column("physically_separate", Boolean, nullable=False),
    Column("spec", Text, nullable=False),  # canonical JSON (RFC 8785) of the cluster spec
    Column("declared_at", String(32), nullable=False),
    Column("declared_seq", BigInteger, nullable=False),
)

pods = Table(
    "pods",
    metadata,
    Column("pod_id", String(64), primary_key=True),
    Column("cluster_id", String(64), nullable=False, index=True),
    Column("position", Integer, nullable=False),  # order within the cluster's spec
    Column("kind", String(32), nullable=False),
)

partitions = Table(
    "partitions",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("containment", String(8), nullable=False),
    Column("certificate_expires", String(10), nullable=True),
)

nodes = Table(
    "nodes",
    metadata,
    Column("node_name", String(64), primary_key=True),
    Column("cluster_id", String(64), nullable=False),
    Column("pod_id", String(64), nullable=False, index=True),
    Column("accelerator_type", String(16), nullable=False),
    Column("accelerators", Integer, nullable=False),
    Column("cpus", Integer, nullable=False),
    Column("mem_gib", Integer, nullable=False),
    Column("partition", String(64), nullable=True),
    Index("ix_nodes_cluster_type", "cluster_id", "accelerator_type"),
)
