"""The live facility as the scheduling core sees it: engine nodes joined with the inventory.

For every cluster whose engine answers and whose nodes the inventory declares, each node the
engine reports becomes a node of a :class:`pnyx.sched.Facility`:

- its **pod** is the inventory's; a node the engine has but the inventory lacks goes into a
  per-cluster default pod ``<cluster>/engine`` outside every partition (so it hosts CL-1 and
  CL-2 jobs up to the cluster's level, as undeclared pods do for the broker);
- its **accelerators and type** are the engine's (the live truth); a node the engine reports
  down, drained or failing is kept but marked down; inventory nodes the engine does not report
  are left out;
- its **certified level** follows :func:`pnyx.domain.jobs.pool_certified` as the broker
  computes it today: a node of a named partition has the partition's level while its
  certificate is valid and 0 (usable by nobody) after it expired; a node outside every
  partition has ``min(cluster level, CL-2)``.

The core's rule is "a CL-k job only on nodes certified >= k", the inventory's is "a named
partition hosts jobs of exactly its level". Both hold because each core *type code* stands
for (accelerator type, partition, partition level, cluster): a job's acceptable codes are those
of its types whose partition is certified for exactly its level, or no partition (CL-1/CL-2).
All nodes of one placement then share one partition, which the submission names. When more
than 63 such codes exist (the core's limit) the cluster is dropped from the code and data
locality is no longer applied.

**Data locality** (``PNYX_DATASET_SITES``): a job whose datasets are all held at some sites runs
only on clusters there when those clusters have enough nodes of its shape; else anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from pnyx.backends.base import NodeStatus
from pnyx.domain.broker import DEFAULT_LEVEL_LIMIT
from pnyx.domain.containment import parse_containment
from pnyx.sched import Facility
from pnyx.sched.facility import MAX_TYPES
from pnyx.services.inventory_dto import ClusterSummary

DOWN_STATES = ("down", "drained", "draining", "fail", "failing", "future", "unknown")
DEFAULT_POD = "engine"
"""Name (after ``<cluster>/``) of the pod of engine nodes the inventory does not declare."""


def is_down(state: str) -> bool:
    """True when an engine's node state (Slurm's, with its suffix flags) means unusable."""
    return str(state).lower().rstrip("*~#!%$@^-+") in DOWN_STATES


@dataclass(frozen=True)
class LiveNode:
    """One node of the live facility."""

    cluster: str
    name: str
    pod: str
    accelerator_type: str
    accelerators: int
    partition: str | None
    level: int
    up: bool


@dataclass(frozen=True)
class Code:
    """What one core type code stands for."""

    accelerator_type: str
    partition: str | None
    partition_level: int  # 0 outside every partition
    cluster: str  # "" when codes are not per cluster


@dataclass
class LiveFacility:
    """The core's facility, and the names behind its integers."""

    facility: Facility
    nodes: list[LiveNode]
    codes: list[Code]
    site_of: dict[str, str]
    index: dict[tuple[str, str], int] = field(default_factory=dict)
    pods: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = {(n.cluster, n.name): i for i, n in enumerate(self.nodes)}

    @property
    def per_cluster(self) -> bool:
        """True when type codes are per cluster (data locality applies)."""
        return any(c.cluster for c in self.codes)

    def code_of(self, node: int) -> int:
        """The type code of node ``node``."""
        return int(self.facility.type_code[node])

    def acceptable(
        self,
        types: Sequence[str],
        level: int,
        shape: tuple[int, int] = (1, 1),
        datasets: Sequence[str] = (),
        dataset_sites: Mapping[str, frozenset[str]] | None = None,
    ) -> tuple[int, ...]:
        """The codes a job of ``types`` (preference order) and containment ``level`` may run
        on, its preferred types first; restricted to data-local clusters when they can hold
        its ``shape`` (nodes, accelerators per node)."""
        rank = {t: i for i, t in enumerate(types)}
        codes = [
            i
            for i, c in enumerate(self.codes)
            if c.accelerator_type in rank
            and (
                (c.partition is None and level <= DEFAULT_LEVEL_LIMIT)
                or (c.partition is not None and c.partition_level == level)
            )
        ]
        codes.sort(key=lambda i: (rank[self.codes[i].accelerator_type], i))
        if datasets and dataset_sites is not None and self.per_cluster:
            sites = dataset_sites
            local = [i for i in codes if self._holds(self.codes[i].cluster, datasets, sites)]
            if local and self._room(local, shape):
                return tuple(local)
        return tuple(codes)

    def _holds(
        self, cluster: str, datasets: Sequence[str], dataset_sites: Mapping[str, frozenset[str]]
    ) -> bool:
        site = self.site_of.get(cluster)
        return all(site in dataset_sites.get(d, frozenset()) for d in datasets)

    def _room(self, codes: Sequence[int], shape: tuple[int, int]) -> bool:
        fac = self.facility
        ok = np.isin(fac.type_code, list(codes)) & (fac.total >= shape[1])
        return int(ok.sum()) >= shape[0]


def build_live_facility(
    declared: Mapping[str, ClusterSummary],
    inventory: Sequence[dict[str, Any]],
    engine_nodes: Mapping[str, Sequence[NodeStatus]],
    today: date,
) -> LiveFacility | None:
    """The live facility of the clusters in ``engine_nodes`` (all declared in ``declared``);
    None when it has no node with accelerators."""
    by_name = {(r["cluster_id"], r["node_name"]): r for r in inventory}
    nodes: list[LiveNode] = []
    for cluster in sorted(engine_nodes):
        summary = declared[cluster]
        levels = _partition_levels(summary, today)
        default_level = min(parse_containment(summary.containment).rank, DEFAULT_LEVEL_LIMIT)
        for node in sorted(engine_nodes[cluster], key=lambda n: n.name):
            if node.accelerators < 1:
                continue
            inv = by_name.get((cluster, node.name))
            pod = inv["pod_id"] if inv else f"{cluster}/{DEFAULT_POD}"
            part = inv["partition"] if inv else None
            level = levels.get(part, (0, 0))[1] if part else default_level
            up = not is_down(node.state)
            kind, count = node.accelerator_type, node.accelerators
            nodes.append(LiveNode(cluster, node.name, pod, kind, count, part, level, up))
    if not nodes:
        return None
    site_of = {c: declared[c].site_id for c in engine_nodes}
    levels_of = {c: _partition_levels(declared[c], today) for c in engine_nodes}
    keys = [_code(n, levels_of[n.cluster], True) for n in nodes]
    if len(set(keys)) > MAX_TYPES:
        keys = [_code(n, levels_of[n.cluster], False) for n in nodes]
    codes = sorted(set(keys), key=lambda c: (c.cluster, c.accelerator_type, c.partition or ""))
    code_ids = {c: i for i, c in enumerate(codes)}
    pods = sorted({n.pod for n in nodes})
    pod_ids = {p: i for i, p in enumerate(pods)}
    clusters = {c: i for i, c in enumerate(sorted(engine_nodes))}
    facility = Facility.from_arrays(
        total=[n.accelerators for n in nodes],
        type_code=[code_ids[k] for k in keys],
        pod=[pod_ids[n.pod] for n in nodes],
        cluster=[clusters[n.cluster] for n in nodes],
        containment=[n.level for n in nodes],
    )
    return LiveFacility(facility, nodes, codes, site_of, pods=pods)


def _partition_levels(summary: ClusterSummary, today: date) -> dict[str | None, tuple[int, int]]:
    """partition -> (declared level, level usable today: 0 once its certificate expired)."""
    out: dict[str | None, tuple[int, int]] = {}
    for p in summary.partitions:
        rank = parse_containment(p.containment).rank
        valid = p.certificate_expires is None or date.fromisoformat(p.certificate_expires) >= today
        out[p.name] = (rank, rank if valid else 0)
    return out


def _code(node: LiveNode, levels: Mapping[str | None, tuple[int, int]], per_cluster: bool) -> Code:
    declared_level = levels.get(node.partition, (0, 0))[0] if node.partition else 0
    return Code(
        node.accelerator_type, node.partition, declared_level, node.cluster if per_cluster else ""
    )
