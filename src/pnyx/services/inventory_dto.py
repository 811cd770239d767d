"""What the inventory services return (also the API's response schemas and the portal's input).

The names and fields of these models are an interface: the portal is built against them.
"""

from __future__ import annotations

from pydantic import BaseModel


class PartitionView(BaseModel):
    """Pods of a cluster certified for a containment level."""

    name: str
    containment: str
    certificate_expires: str | None
    nodes: int
    accelerators: int


class ClusterSummary(BaseModel):
    """One cluster with its totals per accelerator type and its partitions."""

    cluster_id: str
    site_id: str
    name: str
    engine: str
    interconnect: str
    containment: str
    physically_separate: bool
    pods: int
    nodes: int
    accelerators: int
    by_type: dict[str, int]
    partitions: list[PartitionView]


class SiteSummary(BaseModel):
    """One site with its clusters and totals."""

    site_id: str
    name: str
    host_member: str
    location: str
    clusters: list[ClusterSummary]
    pods: int
    nodes: int
    accelerators: int
    by_type: dict[str, int]


class FacilitySummary(BaseModel):
    """The whole facility: every site, and the totals."""

    sites: list[SiteSummary]
    sites_count: int
    clusters_count: int
    pods: int
    nodes: int
    accelerators: int
    by_type: dict[str, int]


class PodView(BaseModel):
    """A pod (topology block) with its node and accelerator counts."""

    pod_id: str
    cluster_id: str
    kind: str
    nodes: int
    accelerators: int
    by_type: dict[str, int]


class NodeView(BaseModel):
    """One node."""

    node_name: str
    cluster_id: str
    pod_id: str
    accelerator_type: str
    accelerators: int
    cpus: int
    mem_gib: int
    partition: str | None


class LoadResult(BaseModel):
    """What loading a facility file did, and the totals of the facility it declared."""

    events: int
    declared: list[str]
    retired: list[str]
    sites: int
    clusters: int
    pods: int
    nodes: int
    accelerators: int
    by_type: dict[str, int]
    warnings: list[str]
