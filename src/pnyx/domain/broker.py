"""Multi-cluster brokering: which cluster, partition and accelerator type a job should go to.

A facility runs several clusters at several sites, each behind its own engine. For every job
the broker looks at what each cluster *offers* (:class:`ClusterOffer`: accelerators of each
type that are up and free, the backlog already waiting in its engine's queue, the partitions it
is certified for, the site it stands at) and chooses, in this order:

1. **hard filters**: the engine is reachable; the cluster has an acceptable accelerator type
   with enough nodes of enough accelerators for the gang; a partition is certified for the
   job's containment level (the rule of :func:`pnyx.domain.jobs.pool_certified`: a named
   partition hosts jobs of exactly its level while its certificate is valid; pods outside every
   partition host CL-1 and CL-2 jobs up to the cluster's level);
   the engine's backlog is below ``max_backlog_ratio`` x its capacity (else the job waits in
   pnyx, where fair-share orders it, rather than in the engine's queue);
2. **the lowest score** ``backlog + locality_penalty x missing datasets + type_penalty x
   preference rank``, where *backlog* estimates the wait in cluster turnovers (0 when the job
   fits in the free accelerators now, else (waiting + wanted - free) / capacity) and *missing
   datasets* counts the job's datasets not held at the cluster's site; ties go to the cluster
   id, so the choice is deterministic.

The answer is a :class:`BrokerChoice` with a one-line human reason (recorded on the ledger
with the placement), or a :class:`BrokerRefusal` naming why each cluster was ruled out. Pure:
no I/O, no clock (``today`` is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from pnyx.errors import InvalidInputError

DEFAULT_LEVEL_LIMIT = 2
"""Pods outside every named partition are certified at most up to CL-2 (CL-3/4 need one)."""


@dataclass(frozen=True)
class BrokerConfig:
    """Weights of the broker's score and how deep an engine's queue may grow."""

    locality_penalty: float = 1.0  # per dataset not held at the cluster's site, in turnovers
    type_penalty: float = 0.25  # per step down the job's list of acceptable types
    max_backlog_ratio: float | None = 4.0  # None: no limit on an engine's queue

    def __post_init__(self) -> None:
        if self.locality_penalty < 0 or self.type_penalty < 0:
            raise InvalidInputError("broker penalties must be >= 0")
        if self.max_backlog_ratio is not None and not self.max_backlog_ratio > 0:
            raise InvalidInputError("max_backlog_ratio must be > 0 (or None for no limit)")


@dataclass(frozen=True)
class PartitionOffer:
    """A partition of a cluster: ``name`` None is the pods outside every named partition."""

    name: str | None
    containment: int  # 1..4: the highest level it is certified for
    certificate_expires: date | None = None


@dataclass(frozen=True)
class TypeCapacity:
    """Accelerators of one type on a cluster's up nodes, and how many are free now."""

    total: int
    free: int
    nodes: int
    largest_node: int  # accelerators on the largest up node


@dataclass(frozen=True)
class ClusterOffer:
    """What one cluster offers a job now."""

    cluster_id: str
    site_id: str | None
    partitions: tuple[PartitionOffer, ...]
    capacity: Mapping[str, TypeCapacity]
    waiting_accelerators: int = 0  # of pnyx jobs handed to the engine but not running yet
    available: bool = True
    unavailable_reason: str = ""

    @property
    def total(self) -> int:
        """Accelerators on up nodes, all types together."""
        return sum(c.total for c in self.capacity.values())


@dataclass(frozen=True)
class JobNeeds:
    """What the broker needs to know of a job."""

    job_id: str
    types: tuple[str, ...]  # acceptable accelerator types, most wanted first
    nodes: int
    accelerators_per_node: int
    containment: int
    datasets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.types:
            raise InvalidInputError(f"job {self.job_id}: no acceptable accelerator type")
        if self.nodes < 1 or self.accelerators_per_node < 0:
            raise InvalidInputError(
                f"job {self.job_id}: need nodes >= 1 and accelerators per node >= 0"
            )
        if not 1 <= self.containment <= 4:
            raise InvalidInputError(f"job {self.job_id}: containment must be 1..4")

    @property
    def accelerators(self) -> int:
        """Accelerators of the whole gang."""
        return self.nodes * self.accelerators_per_node


@dataclass(frozen=True)
class BrokerChoice:
    """Where the job goes and why."""

    cluster_id: str
    partition: str | None
    accelerator_type: str
    starts_now: bool
    score: float
    reason: str


@dataclass(frozen=True)
class BrokerRefusal:
    """No cluster can take the job now; ``permanent`` when none ever could as they stand."""

    reason: str
    permanent: bool
    ruled_out: dict[str, str] = field(default_factory=dict)


def choose_cluster(
    job: JobNeeds,
    offers: Sequence[ClusterOffer],
    today: date,
    dataset_sites: Mapping[str, frozenset[str]] | None = None,
    config: BrokerConfig | None = None,
) -> BrokerChoice | BrokerRefusal:
    """The best cluster for ``job`` among ``offers``, or why there is none."""
    config = config or BrokerConfig()
    sites = dataset_sites or {}
    ruled_out: dict[str, str] = {}
    candidates: list[tuple[float, str, BrokerChoice]] = []
    temporary = False
    for offer in offers:
        verdict = _judge(job, offer, today, sites, config)
        if isinstance(verdict, BrokerChoice):
            candidates.append((verdict.score, offer.cluster_id, verdict))
        else:
            ruled_out[offer.cluster_id], transient = verdict
            temporary = temporary or transient
    if candidates:
        best = min(candidates, key=lambda c: (c[0], c[1]))[2]
        others = len(candidates) - 1
        suffix = f"; preferred over {others} other cluster(s)" if others else ""
        return replace(best, reason=best.reason + suffix)
    detail = "; ".join(f"{cid}: {why}" for cid, why in sorted(ruled_out.items()))
    reason = f"no cluster can run job {job.job_id} now ({detail or 'no clusters'})"
    return BrokerRefusal(reason=reason, permanent=not temporary, ruled_out=ruled_out)


def charge(offer: ClusterOffer, choice: BrokerChoice, accelerators: int) -> ClusterOffer:
    """``offer`` after ``accelerators`` of ``choice``'s type went to it (free now, or waiting)."""
    if not choice.starts_now:
        return replace(offer, waiting_accelerators=offer.waiting_accelerators + accelerators)
    cap = offer.capacity[choice.accelerator_type]
    capacity = dict(offer.capacity)
    capacity[choice.accelerator_type] = replace(cap, free=max(0, cap.free - accelerators))
    return replace(offer, capacity=capacity)


def certified_partition(
    offer: ClusterOffer, containment: int, today: date
) -> tuple[PartitionOffer | None, str]:
    """The partition of ``offer`` that may host a job of level ``containment``, or why none may.

    The rule of :func:`pnyx.domain.jobs.pool_certified`: a named partition hosts jobs of exactly
    its level, and not after its certificate expired; the pods outside every partition (``name``
    None, ``containment`` = the cluster's level) host CL-1 and CL-2 jobs up to that level.
    """
    expired: list[str] = []
    for part in sorted(offer.partitions, key=lambda p: (p.name is not None, p.name or "")):
        if part.name is None:
            if containment <= min(part.containment, DEFAULT_LEVEL_LIMIT):
                return part, ""
            continue
        if part.containment != containment:
            continue
        if part.certificate_expires is not None and part.certificate_expires < today:
            expired.append(f"{part.name} (expired {part.certificate_expires.isoformat()})")
            continue
        return part, ""
    if expired:
        return None, f"certificate of partition {', '.join(expired)} is not valid"
    return None, f"no partition certified for CL-{containment}"


def _judge(
    job: JobNeeds,
    offer: ClusterOffer,
    today: date,
    sites: Mapping[str, frozenset[str]],
    config: BrokerConfig,
) -> BrokerChoice | tuple[str, bool]:
    """A candidate choice on this cluster, or (why not, whether it may change soon)."""
    if not offer.available:
        return f"engine unavailable ({offer.unavailable_reason or 'unreachable'})", True
    if not offer.partitions:
        return "not declared in the facility inventory, so certified for nothing", False
    part, why = certified_partition(offer, job.containment, today)
    if part is None:
        return why, False
    fitting = [(i, t) for i, t in enumerate(job.types) if _fits(job, offer.capacity.get(t))]
    if not fitting:
        has = ", ".join(f"{t} x{c.total}" for t, c in sorted(offer.capacity.items()))
        return f"no {'/'.join(job.types)} nodes for {_shape(job)} (has {has or 'none up'})", False
    missing = [d for d in job.datasets if offer.site_id not in sites.get(d, frozenset())]
    best: tuple[float, BrokerChoice] | None = None
    full = ""
    for rank, kind in fitting:
        cap = offer.capacity[kind]
        now = cap.free >= job.accelerators
        backlog = 0.0 if now else _backlog(job, offer, cap)
        limit = config.max_backlog_ratio
        if not now and limit is not None and offer.waiting_accelerators >= limit * cap.total:
            full = f"{kind} queue full ({offer.waiting_accelerators} accelerators waiting)"
            continue
        score = backlog + config.locality_penalty * len(missing) + config.type_penalty * rank
        if best is None or score < best[0]:
            reason = _reason(job, offer, kind, part, cap, now, missing)
            best = (score, BrokerChoice(offer.cluster_id, part.name, kind, now, score, reason))
    if best is None:
        return full, True
    return best[1]


def _fits(job: JobNeeds, cap: TypeCapacity | None) -> bool:
    return (
        cap is not None
        and cap.total >= job.accelerators
        and cap.nodes >= job.nodes
        and cap.largest_node >= job.accelerators_per_node
    )


def _backlog(job: JobNeeds, offer: ClusterOffer, cap: TypeCapacity) -> float:
    """Estimated wait in turnovers of the type's capacity."""
    return (offer.waiting_accelerators + job.accelerators - cap.free) / max(cap.total, 1)


def _shape(job: JobNeeds) -> str:
    return f"{job.nodes} node(s) x {job.accelerators_per_node}"


def _reason(
    job: JobNeeds,
    offer: ClusterOffer,
    kind: str,
    part: PartitionOffer,
    cap: TypeCapacity,
    now: bool,
    missing: list[str],
) -> str:
    where = f"partition {part.name}" if part.name else "default partition"
    load = (
        f"{cap.free} of {cap.total} {kind} free now"
        if now
        else f"queued behind {offer.waiting_accelerators} accelerators ({cap.free} of "
        f"{cap.total} {kind} free)"
    )
    data = ""
    if job.datasets:
        held = len(job.datasets) - len(missing)
        data = f", holds {held} of {len(job.datasets)} datasets at site {offer.site_id}"
    return (
        f"broker: {offer.cluster_id} ({where}, CL-{job.containment}) for {_shape(job)} {kind}: "
        f"{load}{data}"
    )
