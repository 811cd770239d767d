"""The static shape of the facility as the scheduler sees it: nodes as parallel numpy arrays.

Vocabulary arrives as plain integers so that this package stays independent of the domain
layer: an accelerator *type code* (0..62, the caller keeps the mapping to names such as
``h100``), a *containment level* certified per node (0 = none, 1..4 = CL-1..CL-4), dense *pod*
ids and *cluster* ids. A pod lies in exactly one cluster. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from pnyx.errors import InvalidInputError

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

MAX_LEVEL = 4
"""The strictest containment level (CL-4)."""
MAX_TYPES = 63
"""Type codes are 0..62."""


def as_int_array(values: object, name: str) -> IntArray:
    """``values`` as a one-dimensional int64 array, or raise naming ``name``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: expected a one-dimensional array, got {arr.ndim} dims")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInputError(f"{name}: expected integers, got {arr.dtype}")
    return arr.astype(np.int64, copy=True)


@dataclass(frozen=True, eq=False)
class Facility:
    """Nodes of the facility: accelerators, type code, pod, cluster and certified level.

    Build it with :meth:`from_arrays`. Derived lookups (the nodes of each pod, the pods of each
    cluster) are computed once on construction.
    """

    total: IntArray
    type_code: IntArray
    pod: IntArray
    cluster: IntArray
    containment: IntArray
    n_types: int = field(init=False)
    n_pods: int = field(init=False)
    max_per_node: int = field(init=False)
    pod_nodes: tuple[IntArray, ...] = field(init=False)
    pod_node_lists: tuple[list[int], ...] = field(init=False)
    pod_of: list[int] = field(init=False)
    pod_cluster: IntArray = field(init=False)
    cluster_pods: tuple[IntArray, ...] = field(init=False)

    @classmethod
    def from_arrays(
        cls,
        total: object,
        type_code: object,
        pod: object,
        cluster: object,
        containment: object,
    ) -> Facility:
        """A facility from per-node sequences (all of the same length)."""
        return cls(
            total=as_int_array(total, "total"),
            type_code=as_int_array(type_code, "type_code"),
            pod=as_int_array(pod, "pod"),
            cluster=as_int_array(cluster, "cluster"),
            containment=as_int_array(containment, "containment"),
        )

    def __post_init__(self) -> None:
        self._check()
        n_pods = int(self.pod.max()) + 1
        order = np.argsort(self.pod, kind="stable")
        bounds = np.searchsorted(self.pod[order], np.arange(n_pods + 1))
        pod_nodes = tuple(order[bounds[i] : bounds[i + 1]] for i in range(n_pods))
        pod_cluster = np.zeros(n_pods, dtype=np.int64)
        pod_cluster[self.pod] = self.cluster
        n_clusters = int(self.cluster.max()) + 1
        cluster_pods = tuple(np.flatnonzero(pod_cluster == c) for c in range(n_clusters))
        object.__setattr__(self, "n_types", int(self.type_code.max()) + 1)
        object.__setattr__(self, "n_pods", n_pods)
        object.__setattr__(self, "max_per_node", int(self.total.max()))
        object.__setattr__(self, "pod_nodes", pod_nodes)
        object.__setattr__(self, "pod_node_lists", tuple(p.tolist() for p in pod_nodes))
        object.__setattr__(self, "pod_of", self.pod.tolist())
        object.__setattr__(self, "pod_cluster", pod_cluster)
        object.__setattr__(self, "cluster_pods", cluster_pods)

    def _check(self) -> None:
        n = self.total.size
        if n == 0:
            raise InvalidInputError("facility: at least one node is needed")
        for name in ("type_code", "pod", "cluster", "containment"):
            size = getattr(self, name).size
            if size != n:
                raise InvalidInputError(f"facility: {name} has {size} entries, total has {n}")
        _check_range(self.total, "total", 1, 4096)
        _check_range(self.type_code, "type_code", 0, MAX_TYPES - 1)
        _check_range(self.containment, "containment", 0, MAX_LEVEL)
        _check_range(self.pod, "pod", 0, n - 1)
        _check_range(self.cluster, "cluster", 0, n - 1)
        if np.unique(self.pod).size != int(self.pod.max()) + 1:
            raise InvalidInputError("facility: pod ids must be dense (0..pods-1, none missing)")
        pairs = np.unique(np.stack([self.pod, self.cluster]), axis=1)
        if pairs.shape[1] != np.unique(self.pod).size:
            raise InvalidInputError("facility: a pod must lie in exactly one cluster")

    @property
    def n_nodes(self) -> int:
        """How many nodes."""
        return int(self.total.size)

    @property
    def n_clusters(self) -> int:
        """How many clusters (ids 0..n-1; an id without pods is allowed)."""
        return len(self.cluster_pods)

    @property
    def accelerators(self) -> int:
        """All accelerators of the facility."""
        return int(self.total.sum())


def _check_range(arr: IntArray, name: str, low: int, high: int) -> None:
    if int(arr.min()) < low or int(arr.max()) > high:
        raise InvalidInputError(
            f"facility: {name} must lie in {low}..{high}, got {int(arr.min())}..{int(arr.max())}"
        )


def grid_facility(
    pods_per_type: tuple[int, ...],
    nodes_per_pod: int,
    per_node: int,
    levels: tuple[int, ...] | None = None,
    pods_per_cluster: int | None = None,
) -> Facility:
    """A regular facility: ``pods_per_type[t]`` pods of type ``t``, all nodes alike.

    ``levels`` gives each pod's certified containment level (default CL-2 everywhere);
    clusters are formed per type, split every ``pods_per_cluster`` pods when given.
    """
    n_pods = sum(pods_per_type)
    if levels is not None and len(levels) != n_pods:
        raise InvalidInputError(f"grid_facility: {len(levels)} levels given for {n_pods} pods")
    pod_type = np.repeat(np.arange(len(pods_per_type)), pods_per_type)
    pod_cluster, cluster, previous = [], -1, -1
    for i, t in enumerate(pod_type.tolist()):
        first_of_type = t != previous
        split = pods_per_cluster is not None and (i - _first(pod_type, t)) % pods_per_cluster == 0
        if first_of_type or split:
            cluster += 1
        pod_cluster.append(cluster)
        previous = t
    pod_level = np.asarray(levels if levels is not None else [2] * n_pods)
    node_pod = np.repeat(np.arange(n_pods), nodes_per_pod)
    return Facility.from_arrays(
        total=np.full(node_pod.size, per_node),
        type_code=pod_type[node_pod],
        pod=node_pod,
        cluster=np.asarray(pod_cluster)[node_pod],
        containment=pod_level[node_pod],
    )


def _first(pod_type: IntArray, t: int) -> int:
    return int(np.flatnonzero(pod_type == t)[0])
