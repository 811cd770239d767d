"""The facility inventory: sites > clusters > pods > nodes, and what loading a new spec changes.

Operators describe the facility in one file (docs/inventory.md). It is parsed into frozen specs
(:func:`pnyx.domain.inventory_parse.parse_facility`), compared with the current one
by :func:`decide_load`, and only the differences become events. A cluster's full, compact spec
(pods and node groups, never one line per node) travels in its ``ClusterDeclared`` event, so
replaying the log rebuilds every node. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pnyx.domain.containment import ContainmentLevel
from pnyx.domain.events import Event, event_type


class AcceleratorType(StrEnum):
    """Kinds of accelerator the facility runs (DESIGN.md §4)."""

    H100 = "h100"
    H200 = "h200"
    B200 = "b200"
    GB200 = "gb200"
    MI300X = "mi300x"
    MI325X = "mi325x"
    TPU_V5P = "tpu-v5p"
    GAUDI3 = "gaudi3"
    L40S = "l40s"
    A100 = "a100"


class Engine(StrEnum):
    """What runs a cluster's jobs."""

    SLURM = "slurm"
    LOCAL = "local"


class Interconnect(StrEnum):
    """The fabric between a cluster's nodes."""

    INFINIBAND_HDR = "infiniband-hdr"
    INFINIBAND_NDR = "infiniband-ndr"
    INFINIBAND_XDR = "infiniband-xdr"
    ROCE = "roce"
    ETHERNET = "ethernet"
    NVLINK = "nvlink"
    SLINGSHOT = "slingshot"
    TPU_ICI = "tpu-ici"


class PodKind(StrEnum):
    """What a pod (a topology block) is."""

    NVLINK_DOMAIN = "nvlink-domain"
    RACK = "rack"
    LEAF = "leaf"
    SCALABLE_UNIT = "scalable-unit"
    SLICE = "slice"


def expand_names(prefix: str, count: int, start: int = 0, digits: int = 3) -> list[str]:
    """Node names ``prefix`` + zero-padded index: ("n-", 3, 0, 2) -> n-00, n-01, n-02."""
    return [f"{prefix}{i:0{digits}d}" for i in range(start, start + count)]


@dataclass(frozen=True)
class NodeGroup:
    """Identical nodes written once: by ``prefix`` + ``count`` or by explicit ``names``."""

    accelerator_type: AcceleratorType
    accelerators_per_node: int
    cpus: int
    mem_gib: int
    prefix: str | None = None
    count: int = 0
    start: int = 0
    digits: int = 3
    names: tuple[str, ...] = ()

    @property
    def node_count(self) -> int:
        """How many nodes the group holds."""
        return len(self.names) if self.names else self.count

    @property
    def accelerators(self) -> int:
        """Accelerators in the whole group."""
        return self.node_count * self.accelerators_per_node

    def node_names(self) -> list[str]:
        """Every node's name, in order."""
        if self.names:
            return list(self.names)
        assert self.prefix is not None
        return expand_names(self.prefix, self.count, self.start, self.digits)


@dataclass(frozen=True)
class PodSpec:
    """A topology block (rack, NVLink domain, leaf switch) of node groups."""

    pod_id: str
    kind: PodKind
    nodes: tuple[NodeGroup, ...]

    def node_names(self) -> Iterator[str]:
        """Every node's name in the pod."""
        for group in self.nodes:
            yield from group.node_names()


@dataclass(frozen=True)
class PartitionSpec:
    """Pods certified for a containment level (CL-3/CL-4 carry a certificate expiry date)."""

    name: str
    containment: ContainmentLevel
    certificate_expires: str | None
    pods: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSpec:
    """One engine's domain at a site, with its pods and containment partitions."""

    cluster_id: str
    site_id: str
    name: str
    engine: Engine
    interconnect: Interconnect
    containment: ContainmentLevel
    physically_separate: bool
    partitions: tuple[PartitionSpec, ...]
    pods: tuple[PodSpec, ...]

    def partition_of(self) -> dict[str, str]:
        """pod id -> name of the partition that holds it."""
        return {pod: p.name for p in self.partitions for pod in p.pods}

    def owned_ids(self) -> Iterator[str]:
        """Pod ids and node names: the facility-wide ids this cluster holds."""
        for pod in self.pods:
            yield "pod:" + pod.pod_id
            for name in pod.node_names():
                yield "node:" + name


@dataclass(frozen=True)
class SiteSpec:
    """A location, hosted by a member."""

    site_id: str
    name: str
    host_member: str
    location: str


@dataclass(frozen=True)
class FacilitySpec:
    """The whole facility as declared: sites and their clusters (each names its site)."""

    sites: tuple[SiteSpec, ...]
    clusters: tuple[ClusterSpec, ...]


EMPTY_FACILITY = FacilitySpec((), ())


@dataclass(frozen=True)
class Totals:
    """Counts over a facility spec."""

    sites: int
    clusters: int
    pods: int
    nodes: int
    accelerators: int
    by_type: dict[str, int]


def count_totals(spec: FacilitySpec) -> Totals:
    """Sites, clusters, pods, nodes, accelerators and accelerators per type."""
    by_type: dict[str, int] = {}
    pods = nodes = 0
    for cluster in spec.clusters:
        pods += len(cluster.pods)
        for group in (g for pod in cluster.pods for g in pod.nodes):
            nodes += group.node_count
            key = str(group.accelerator_type)
            by_type[key] = by_type.get(key, 0) + group.accelerators
    return Totals(
        sites=len(spec.sites),
        clusters=len(spec.clusters),
        pods=pods,
        nodes=nodes,
        accelerators=sum(by_type.values()),
        by_type=dict(sorted(by_type.items())),
    )


def expired_certificates(spec: FacilitySpec, today: date) -> list[str]:
    """One line per CL-3/CL-4 partition whose certificate expired before ``today``."""
    return [
        f"cluster {c.cluster_id} partition {p.name} ({p.containment}): certificate expired "
        f"{p.certificate_expires}; its jobs will be refused until it is renewed"
        for c in spec.clusters
        for p in c.partitions
        if p.certificate_expires is not None and date.fromisoformat(p.certificate_expires) < today
    ]


# --- events -----------------------------------------------------------------------------------


@event_type
@dataclass(frozen=True)
class SiteDeclared(Event):
    """A site is added or its description changed."""

    KIND = "site.declared"
    site_id: str
    name: str
    host_member: str
    location: str


@event_type
@dataclass(frozen=True)
class SiteRetired(Event):
    """A site leaves the facility (its clusters were retired before)."""

    KIND = "site.retired"
    site_id: str


@event_type
@dataclass(frozen=True)
class ClusterDeclared(Event):
    """A cluster is added or re-declared: its full compact spec replaces the previous one."""

    KIND = "cluster.declared"
    cluster_id: str
    site_id: str
    name: str
    engine: str
    interconnect: str
    containment: str
    physically_separate: bool
    partitions: list[dict[str, Any]]
    pods: list[dict[str, Any]]


@event_type
@dataclass(frozen=True)
class ClusterRetired(Event):
    """A cluster leaves the facility with all its pods, nodes and partitions."""

    KIND = "cluster.retired"
    cluster_id: str


def render_node_group(group: NodeGroup) -> dict[str, Any]:
    """The canonical JSON form of a node group (what the parser reads back)."""
    out: dict[str, Any] = {
        "accelerator_type": str(group.accelerator_type),
        "accelerators_per_node": group.accelerators_per_node,
        "cpus": group.cpus,
        "mem_gib": group.mem_gib,
    }
    if group.names:
        out["names"] = list(group.names)
    else:
        out |= {"prefix": group.prefix, "count": group.count}
        out |= {"start": group.start, "digits": group.digits}
    return out


def render_cluster(cluster: ClusterSpec) -> dict[str, Any]:
    """The canonical JSON form of a cluster (without ``site_id``), as the parser reads it."""
    return {
        "cluster_id": cluster.cluster_id,
        "name": cluster.name,
        "engine": str(cluster.engine),
        "interconnect": str(cluster.interconnect),
        "containment": str(cluster.containment),
        "physically_separate": cluster.physically_separate,
        "partitions": [
            {
                "name": p.name,
                "containment": str(p.containment),
                "certificate_expires": p.certificate_expires,
                "pods": list(p.pods),
            }
            for p in cluster.partitions
        ],
        "pods": [
            {"pod_id": pod.pod_id, "kind": str(pod.kind)}
            | {"nodes": [render_node_group(g) for g in pod.nodes]}
            for pod in cluster.pods
        ],
    }


def cluster_event(cluster: ClusterSpec) -> ClusterDeclared:
    """The event that declares ``cluster``."""
    return ClusterDeclared(site_id=cluster.site_id, **render_cluster(cluster))


def site_event(site: SiteSpec) -> SiteDeclared:
    """The event that declares ``site``."""
    return SiteDeclared(site.site_id, site.name, site.host_member, site.location)


# --- deciding a load --------------------------------------------------------------------------


def decide_load(current: FacilitySpec | None, new: FacilitySpec) -> list[Event]:
    """The events that turn ``current`` into ``new``; none when nothing changed.

    Order: new or changed sites; retired clusters (removed ones, and "donors" whose pods or
    nodes move to another cluster, so no id is ever held twice); new or changed clusters;
    retired sites.
    """
    cur = current or EMPTY_FACILITY
    old_sites = {s.site_id: s for s in cur.sites}
    old_clusters = {c.cluster_id: c for c in cur.clusters}
    new_ids = {c.cluster_id for c in new.clusters}
    declare = [c for c in new.clusters if old_clusters.get(c.cluster_id) != c]
    removed = [cid for cid in old_clusters if cid not in new_ids]
    donors = _donors(cur.clusters, declare)
    events: list[Event] = [site_event(s) for s in new.sites if old_sites.get(s.site_id) != s]
    events += [ClusterRetired(cid) for cid in old_clusters if cid in donors or cid in removed]
    events += [cluster_event(c) for c in declare]
    new_site_ids = {s.site_id for s in new.sites}
    events += [SiteRetired(sid) for sid in old_sites if sid not in new_site_ids]
    return events


def _donors(current: Sequence[ClusterSpec], declare: Sequence[ClusterSpec]) -> set[str]:
    """Current clusters that hold a pod id or node name another declared cluster claims."""
    if not declare:
        return set()
    owner = {key: c.cluster_id for c in current for key in c.owned_ids()}
    return {
        owner[key]
        for c in declare
        for key in c.owned_ids()
        if key in owner and owner[key] != c.cluster_id
    }
