"""The dispatcher's inputs: queued jobs in fair-share order, and what each cluster offers.

**Order.** Queued jobs are ranked with the scheduling core's multifactor priority
(:mod:`pnyx.sched.priority`): a Fair-Tree fair-share factor over member > programme > project >
user, plus age and size. Targets are the Council's enacted shares (a member's share of a
programme = programme share x the member's share of it; a member's share = the sum over
programmes); absent shares count equally. Usage is the project's decayed usage
(:func:`pnyx.services.accounting.decayed_usage`, or the same sums kept between passes by the
dispatcher's :class:`pnyx.services.dispatch_usage.UsageBook`), split evenly over the project's
users. The member and programme of a job are those of its award.

**Offers.** A cluster's offer (:class:`pnyx.domain.broker.ClusterOffer`) joins the inventory
(site, containment level, partitions and their certificates) with its engine's live nodes
(accelerators per type on nodes that are up) and the pnyx jobs it holds: those running use
accelerators, those handed over but not running yet wait in its queue. Free = up - used -
waiting (an estimate: the engine may run work pnyx does not know of).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from pnyx.backends.base import NodeStatus
from pnyx.domain.broker import ClusterOffer, PartitionOffer, TypeCapacity
from pnyx.domain.containment import parse_containment
from pnyx.domain.jobs import JobState
from pnyx.sched.priority import FairTree, PriorityWeights, priorities, rank
from pnyx.services import accounting, council_read, inventory, share_history
from pnyx.services.context import ServiceContext
from pnyx.services.inventory_dto import ClusterSummary
from pnyx.store import dispatch_repo

DOWN_STATES = ("down", "drained", "draining", "fail", "failing", "future", "unknown")
RUNNING_STATES = frozenset({JobState.RUNNING.value, JobState.COMPLETING.value})
WAITING_STATES = frozenset(
    {JobState.PLACED.value, JobState.STARTING.value, JobState.REQUEUED.value}
)


def order_queued(
    ctx: ServiceContext,
    queued: Sequence[dict[str, Any]],
    now: datetime,
    weights: PriorityWeights,
    half_life_days: float,
    usage: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """``queued`` job rows, highest priority first (ties: earlier submission, lower id).
    ``usage``: the projects' decayed usage when the caller keeps it (else it is read)."""
    if len(queued) <= 1:
        return list(queued)
    fair = fair_inputs(ctx, queued, now, half_life_days, usage=usage)
    paths = fair.paths
    tree = FairTree(fair.shares)
    leaves = [tree.leaf(p) for p in paths]
    factors = tree.factors(_leaf_usage(queued, leaves, fair.usage))
    fair_factor = np.asarray([factors[leaf] for leaf in leaves])
    submit = np.asarray([_seconds(row["submitted_at"]) for row in queued])
    size = np.asarray([row["nodes"] * row["accelerators_per_node"] for row in queued])
    total = max(int(size.sum()), 1)
    prio = priorities(weights, fair_factor, submit, size, now.timestamp(), total)
    seq = np.asarray([row["submitted_seq"] for row in queued], dtype=np.int64)
    return [queued[i] for i in rank(prio, submit, seq)]


@dataclass(frozen=True)
class FairInputs:
    """What the Fair-Tree needs of some job rows: each row's path (member, programme, project,
    user as dense ints), the targets of the tree from the enacted shares, the decayed usage of
    each project, and the member id of each member int."""

    paths: list[tuple[int, int, int, int]]
    shares: dict[tuple[int, ...], float]
    usage: Mapping[str, float]
    members: list[str]
    history: Mapping[tuple[str, str, str], tuple[int, int, int, int]] = field(default_factory=dict)
    """The paths of the (award, project, submitter) leaves asked for besides the rows'."""


def fair_inputs(
    ctx: ServiceContext,
    rows: Sequence[dict[str, Any]],
    now: datetime,
    half_life_days: float,
    history: Sequence[tuple[str, str, str]] = (),
    project_usage: bool = True,
    usage: Mapping[str, float] | None = None,
) -> FairInputs:
    """The Fair-Tree inputs of ``rows`` (see the module docstring), and the paths of the
    ``history`` leaves (award, project, submitter) of jobs no longer active. Without
    ``project_usage`` the projects' decayed usage is left out (the caller has its own);
    ``usage``: the projects' decayed usage as the caller keeps it (else it is read)."""
    if not project_usage:
        usage = {}
    elif usage is None:
        usage = accounting.decayed_usage(ctx, now, half_life_days)
    shares = council_read.enacted_shares(ctx)
    with ctx.db.read() as conn:
        owners = dispatch_repo.award_owners(conn)
        members = dispatch_repo.member_ids(conn)
    tree_ids: list[dict[str, int]] = [{}, {}, {}, {}]
    paths = [_path(row, owners, tree_ids) for row in rows]
    past = {
        leaf: _path(
            {"award_id": leaf[0], "project_id": leaf[1], "submitter": leaf[2]}, owners, tree_ids
        )
        for leaf in history
    }
    tree = _tree_shares(shares.programmes, shares.members, members, tree_ids)
    return FairInputs(paths, tree, usage, list(tree_ids[0]), past)


def _path(
    row: dict[str, Any], owners: Mapping[str, tuple[str, str]], ids: list[dict[str, int]]
) -> tuple[int, int, int, int]:
    member, programme = owners.get(row["award_id"], ("", ""))
    names = (member, programme, row["project_id"], row["submitter"])
    return (
        ids[0].setdefault(names[0], len(ids[0])),
        ids[1].setdefault(names[1], len(ids[1])),
        ids[2].setdefault(names[2], len(ids[2])),
        ids[3].setdefault(names[3], len(ids[3])),
    )


def _tree_shares(
    programmes: Mapping[str, float],
    split: Mapping[str, Mapping[str, float]],
    members: Sequence[str],
    ids: list[dict[str, int]],
) -> dict[tuple[int, ...], float]:
    """Fair-tree targets from the enacted shares, by the same rule as statements and the Council
    preview (:mod:`pnyx.services.share_history`: a programme without an enacted member split is
    shared equally by all members); only members and programmes in the queue get a node."""
    out: dict[tuple[int, ...], float] = {}
    targets = share_history.member_targets(programmes, split, members)
    for member, m in ids[0].items():
        if member not in targets:
            continue
        out[(m,)] = targets[member]
        weights = share_history.programme_weights(programmes, split, member, members)
        for programme, weight in weights.items():
            if programme in ids[1]:
                out[(m, ids[1][programme])] = weight
    return out


def _leaf_usage(
    rows: Sequence[dict[str, Any]], leaves: Sequence[int], usage: Mapping[str, float]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    users: dict[str, set[int]] = {}
    for row, leaf in zip(rows, leaves, strict=True):
        users.setdefault(row["project_id"], set()).add(leaf)
    out = np.zeros(max(leaves) + 1)
    for project, project_leaves in users.items():
        for leaf in project_leaves:
            out[leaf] = usage.get(project, 0.0) / len(project_leaves)
    return out


def _seconds(instant: str) -> float:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()


# --- offers -------------------------------------------------------------------------------


def build_offer(
    cluster_id: str,
    declared: ClusterSummary | None,
    nodes: Sequence[NodeStatus],
    active: Sequence[dict[str, Any]],
) -> ClusterOffer:
    """The offer of ``cluster_id`` from its inventory entry, engine nodes and active jobs."""
    capacity = _capacity(nodes, active)
    waiting = sum(_size(r) for r in active if r["state"] in WAITING_STATES)
    if declared is None:
        # not in the inventory: nothing certifies it, so nothing may be placed on it
        return ClusterOffer(cluster_id, None, (), capacity, waiting)
    parts = [PartitionOffer(None, parse_containment(declared.containment).rank)]
    for p in declared.partitions:
        expires = date.fromisoformat(p.certificate_expires) if p.certificate_expires else None
        parts.append(PartitionOffer(p.name, parse_containment(p.containment).rank, expires))
    return ClusterOffer(cluster_id, declared.site_id, tuple(parts), capacity, waiting)


def unavailable_offer(cluster_id: str, reason: str) -> ClusterOffer:
    """The offer of a cluster whose engine cannot be reached now."""
    return ClusterOffer(cluster_id, None, (), {}, 0, False, reason)


def _capacity(
    nodes: Sequence[NodeStatus], active: Sequence[dict[str, Any]]
) -> dict[str, TypeCapacity]:
    total: dict[str, int] = {}
    count: dict[str, int] = {}
    largest: dict[str, int] = {}
    for node in nodes:
        if str(node.state).lower().rstrip("*~#!%$@^-+") in DOWN_STATES:
            continue
        kind = node.accelerator_type
        total[kind] = total.get(kind, 0) + node.accelerators
        count[kind] = count.get(kind, 0) + 1
        largest[kind] = max(largest.get(kind, 0), node.accelerators)
    taken: dict[str, int] = {}
    for row in active:
        kind = str(row.get("accelerator_type") or "")
        if kind and (row["state"] in RUNNING_STATES or row["state"] in WAITING_STATES):
            taken[kind] = taken.get(kind, 0) + _size(row)
    return {
        kind: TypeCapacity(
            total=total[kind],
            free=max(0, total[kind] - taken.get(kind, 0)),
            nodes=count[kind],
            largest_node=largest[kind],
        )
        for kind in sorted(total)
    }


def _size(row: dict[str, Any]) -> int:
    return int(row["nodes"]) * int(row["accelerators_per_node"])


# --- which inventory cluster an engine serves -------------------------------------------------


def serving_cluster(
    ctx: ServiceContext,
    name: str,
    engine: str,
    types: Sequence[str],
    taken: Sequence[str] = (),
) -> str:
    """The inventory cluster an engine called ``name`` serves (its backend's name).

    ``name`` itself when the inventory declares it; else the first declared cluster (by id, not
    in ``taken``) run by ``engine`` with nodes of one of ``types``; else the first with nodes
    of one of ``types`` (on one machine an engine stands in for a cluster of the facility);
    else ``name`` (jobs then stay queued: nothing certifies an undeclared cluster).
    """
    clusters = [
        c
        for site in inventory.facility_summary(ctx).sites
        for c in site.clusters
        if c.cluster_id not in taken
    ]
    if any(c.cluster_id == name for c in clusters):
        return name
    clusters.sort(key=lambda c: c.cluster_id)
    fitting = [c for c in clusters if any(t in c.by_type for t in types)]
    same_engine = [c for c in fitting if c.engine == engine]
    for group in (same_engine, fitting):
        if group:
            return group[0].cluster_id
    return name
