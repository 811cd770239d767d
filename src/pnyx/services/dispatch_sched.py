"""The dispatcher's place step with the scheduling core (``placement="pnyx"``).

One call of :func:`schedule_live` rebuilds the core's state from the live store and engines,
runs one :func:`pnyx.sched.schedule_pass` and returns what to do, in pnyx's names:

- **facility**: :func:`pnyx.services.dispatch_facility.build_live_facility`;
- **running**: jobs placed, starting, running or completing on those clusters occupy the nodes
  the engine reported (the ``running`` event's node list) or, until it reports, the nodes pnyx
  placed them on (the ``placed`` event's node list); a job without a usable node list (placed
  by an engine, or on nodes that vanished) is placed *virtually* on its cluster and type, best
  fit, so that its accelerators still count; its expected end is its start + time limit;
- **pending**: queued jobs with their Fair-Tree path (member > programme > project > user),
  the enacted shares and the projects' decayed usage
  (:func:`pnyx.services.dispatch_order.fair_inputs`), gang shape, acceptable types,
  containment, time limit and preemptibility;
- **preemptions in progress** (victims signalled in an earlier pass) are told to the core so
  that it neither picks them again nor plans twice for one job.

The outcome: starts (cluster, type, node names, a reason such as "one pod lab-gpu-r000 of
lab-gpu, best fit"), reservations as pending reasons ("reserved: starts by T on nodes ..."),
and preemption plans (victim, beneficiary, requeue time, the share reason). The core's state is
rebuilt every pass (the store is the truth; nothing is lost on a restart).

Three live rules the core (shared with the simulator, whose decisions stay as they are) does
not apply itself:

- **preferred type**: the core places a multi-type job by best fit over all its types; a job
  started on a type it lists after another is moved, once the pass is over, to the first type
  it prefers that still has room (never onto the nodes of a reservation, so no reservation is
  delayed): a job listing ``["h100", "a100"]`` runs on h100 whenever h100 has room;
- **one judge**: with ``Judge.ENTITLEMENT`` the core's top-reservation plan is judged by what
  members run now (allocation); a plan whose beneficiary's member is above its entitlement, or
  that takes a job of a member not above its entitlement (beyond the tolerance), is dropped, so
  every live preemption agrees with the configured judge (the per-member plans already do);
- **the whole machine's capacity**: the entitlement's demand and usage count every pnyx job
  (and work run outside pnyx), wherever it ran; its capacity is the whole facility's too
  (``other_accelerators``: the declared accelerators of the clusters the broker serves), so a
  member is judged on its share of the machine, not of the core's clusters alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

from pnyx.domain.containment import parse_containment
from pnyx.domain.jobs import JobState
from pnyx.errors import ConflictError
from pnyx.sched import (
    Allocation,
    Decisions,
    JobRequest,
    Placement,
    SchedulerConfig,
    SchedulerState,
    place,
    schedule_pass,
)
from pnyx.sched.preemption import (
    Judge,
    PreemptionPlan,
    PreemptionPolicy,
    entitlement_gap,
    member_service,
)
from pnyx.services.context import format_time
from pnyx.services.dispatch_entitlement import Entitlement, leaves_of
from pnyx.services.dispatch_facility import LiveFacility
from pnyx.services.dispatch_order import FairInputs

S = JobState
OCCUPYING = frozenset(
    {S.PLACED.value, S.STARTING.value, S.RUNNING.value, S.COMPLETING.value, S.REQUEUED.value}
)


@dataclass(frozen=True)
class LiveStart:
    """Start ``row`` now on ``nodes`` of ``cluster`` (one accelerator type)."""

    row: dict[str, Any]
    cluster: str
    accelerator_type: str
    nodes: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class LivePreemption:
    """Checkpoint ``victim`` now and requeue it at ``requeue_at`` (POSIX s) for ``beneficiary``."""

    victim: str
    beneficiary: str
    requeue_at: float
    reason: str


@dataclass
class LiveOutcome:
    """What one pass of the core decided, in pnyx's names."""

    starts: list[LiveStart] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # job -> pending reason
    preemptions: list[LivePreemption] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)  # rows the core cannot take
    virtual: list[str] = field(default_factory=list)  # active jobs placed virtually


@dataclass(frozen=True)
class Preempting:
    """A preemption signalled in an earlier pass and not yet carried out."""

    beneficiary: str
    requeue_at: float
    reason: str


def schedule_live(
    live: LiveFacility,
    active: Sequence[dict[str, Any]],
    queued: Sequence[dict[str, Any]],
    fair: FairInputs,
    now: datetime,
    config: SchedulerConfig,
    preempting: Mapping[str, Preempting],
    dataset_sites: Mapping[str, frozenset[str]] | None = None,
    entitlement: Entitlement | None = None,
    other_accelerators: int = 0,
) -> LiveOutcome:
    """One pass of the core over the live facility (see the module docstring).

    ``fair.paths`` holds the paths of ``active`` then ``queued`` rows, in that order.
    ``entitlement``: the decayed usage and demand of every leaf (``fair.history`` has the
    paths of leaves without active rows) and the decayed span, from the store
    (:mod:`pnyx.services.dispatch_entitlement`); it replaces the projects' usage, and the
    entitlement judge needs it. ``other_accelerators``: the facility's accelerators outside
    ``live`` (the broker's clusters), added to the entitlement's capacity.
    """
    driver = _Driver(live, fair, now, config, dataset_sites, entitlement, other_accelerators)
    return driver.run(active, queued, preempting)


class _Driver:
    def __init__(
        self,
        live: LiveFacility,
        fair: FairInputs,
        now: datetime,
        config: SchedulerConfig,
        sites: Mapping[str, frozenset[str]] | None,
        entitlement: Entitlement | None = None,
        other_accelerators: int = 0,
    ) -> None:
        self.live, self.fair, self.sites = live, fair, sites
        self.entitlement, self.other = entitlement, max(0, other_accelerators)
        self.now_s = now.timestamp()
        self.state = SchedulerState(live.facility, config, fair.shares, self.now_s)
        self.ids: list[str] = []
        self.rows: dict[str, dict[str, Any]] = {}
        self.acceptable: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self.out = LiveOutcome()
        self.preempted_for: dict[str, str] = {}  # beneficiary -> the victims, the judge
        self.moved: dict[int, Allocation] = {}  # jobs moved to a type they prefer
        self.plans: list[PreemptionPlan] = []  # the core's plans the configured judge keeps

    def run(
        self,
        active: Sequence[dict[str, Any]],
        queued: Sequence[dict[str, Any]],
        preempting: Mapping[str, Preempting],
    ) -> LiveOutcome:
        paths = self.fair.paths
        for row, path in zip(active, paths, strict=False):
            self._occupy(row, path)
        for row, path in zip(queued, paths[len(active) :], strict=True):
            self._queue(row, path)
        for node, live_node in enumerate(self.live.nodes):
            if not live_node.up:
                self.state.index.set_up(node, False)
        self._usage(list(active) + list(queued))
        self._in_progress(preempting)
        decisions = schedule_pass(self.state, self.now_s)
        self.plans = self._judged(decisions.preemptions)
        self.moved = self._prefer(decisions)
        self._decided(decisions)
        return self.out

    # --- building the state --------------------------------------------------------------

    def _request(
        self,
        row: dict[str, Any],
        path: tuple[int, int, int, int],
        types: tuple[int, ...],
        time_limit_s: float | None = None,
    ) -> JobRequest:
        num = len(self.ids)
        self.ids.append(row["job_id"])
        self.rows[row["job_id"]] = row
        per_node = int(row["accelerators_per_node"])
        return JobRequest(
            job_id=num,
            member=path[0],
            programme=path[1],
            project=path[2],
            user=path[3],
            accelerators=int(row["nodes"]) * per_node,
            per_node=per_node,
            types=types,
            containment=_level(row["containment"]),
            time_limit_s=float(row["time_limit_s"]) if time_limit_s is None else time_limit_s,
            submit_s=_posix(row["submitted_at"]),
            preemptible=bool(row["preemptible"]),
        )

    def _occupy(self, row: dict[str, Any], path: tuple[int, int, int, int]) -> None:
        if row["state"] not in OCCUPYING or int(row["accelerators_per_node"]) < 1:
            return
        index = self.live.index
        names = list(row["allocated_nodes"] or [])
        nodes = [index.get((row["cluster"], n)) for n in names]
        started = _posix(row["started_at"]) if row.get("started_at") else self.now_s
        # the core's clock only moves forward: the job "starts" now with what is left of its
        # time limit, so that its expected end (for reservations) is its real one
        left = max(1.0, started + float(row["time_limit_s"]) - self.now_s)
        if len(names) == int(row["nodes"]) and all(n is not None for n in nodes):
            known = [n for n in nodes if n is not None]
            code = self.live.code_of(known[0])
            job = self._request(row, path, (code,), left)
            counts = [int(row["accelerators_per_node"])] * len(known)
            if self._start(job, Allocation.of(known, counts), code):
                return
            self.ids.pop()
        self._occupy_virtually(row, path, left)

    def _occupy_virtually(
        self, row: dict[str, Any], path: tuple[int, int, int, int], left_s: float
    ) -> None:
        codes = tuple(
            i
            for i, c in enumerate(self.live.codes)
            if c.accelerator_type == row["accelerator_type"] and c.cluster in ("", row["cluster"])
        )
        if not codes:
            return
        job = self._request(row, path, codes, left_s)
        cluster = self._cluster_id(row["cluster"])
        self.state.submit(job)
        found = place(self.state.index, job)
        if found is not None and cluster is not None:
            nodes = found.allocation.nodes
            if int(self.live.facility.cluster[nodes[0]]) != cluster:
                found = None
        if found is None:
            self.state.cancel(job.job_id)
            return
        self.state.start(job, found, self.now_s, False)
        self.out.virtual.append(row["job_id"])

    def _cluster_id(self, name: str) -> int | None:
        for i, n in enumerate(self.live.nodes):
            if n.cluster == name:
                return int(self.live.facility.cluster[i])
        return None

    def _start(self, job: JobRequest, alloc: Allocation, code: int) -> bool:
        self.state.submit(job)
        try:
            self.state.start(job, Placement(alloc, code, 0, 1, 0), self.now_s, False)
        except ConflictError:
            self.state.cancel(job.job_id)
            return False
        return True

    def _queue(self, row: dict[str, Any], path: tuple[int, int, int, int]) -> None:
        per_node = int(row["accelerators_per_node"])
        shape = (int(row["nodes"]), per_node)
        key = (tuple(row["accelerator_types"]), row["containment"], shape, tuple(row["datasets"]))
        types = self.acceptable.get(key)
        if types is None:  # jobs of one shape are many: ask once per pass
            types = self.acceptable[key] = self.live.acceptable(
                key[0], _level(key[1]), shape, key[3], self.sites
            )
        if per_node < 1 or not types:
            self.out.outside.append(row)
            return
        self.state.submit(self._request(row, path, types))

    def _usage(self, rows: Sequence[dict[str, Any]]) -> None:
        """Each leaf's decayed usage: its project's, split evenly over the project's leaves;
        with the entitlement's integrals, each leaf's own usage and demand."""
        if self.entitlement is not None:
            self._integrals(rows, self.entitlement)
            return
        tree, usage = self.state.tree, self.state.usage
        usage.ensure(len(tree))
        leaves: dict[str, set[int]] = {}
        for row, path in zip(rows, self.fair.paths, strict=True):
            leaves.setdefault(row["project_id"], set()).add(tree.leaf(path))
        usage.ensure(len(tree))
        for project, project_leaves in leaves.items():
            for leaf in project_leaves:
                usage.usage[leaf] = self.fair.usage.get(project, 0.0) / len(project_leaves)

    def _integrals(self, rows: Sequence[dict[str, Any]], ent: Entitlement) -> None:
        tree, usage = self.state.tree, self.state.usage
        leaf_of = dict(zip(leaves_of(rows), (tree.leaf(p) for p in self.fair.paths), strict=True))
        for key, path in self.fair.history.items():
            leaf_of.setdefault(key, tree.leaf(path))
        usage.ensure(len(tree))
        for key, leaf in leaf_of.items():
            usage.usage[leaf] = ent.usage.get(key, 0.0)
            usage.demand[leaf] = ent.demand.get(key, 0.0)
        # the core's capacity is the clusters it schedules; the entitlement's is the whole
        # machine's (demand and usage count every job): capacity x span scales alike
        core = float(self.state.fac.accelerators)
        usage.span_s = ent.span_s * ((core + self.other) / core if core > 0 else 1.0)

    def _in_progress(self, preempting: Mapping[str, Preempting]) -> None:
        num = {job_id: i for i, job_id in enumerate(self.ids)}
        for victim, p in preempting.items():
            if victim in num and num[victim] in self.state.running.jobs:
                self.state.preempting[num[victim]] = p.requeue_at
            if p.beneficiary in num and num[p.beneficiary] in self.state.pending:
                self.state.awaiting[num[p.beneficiary]] = p.requeue_at

    # --- the job's preferred type ---------------------------------------------------------

    def _prefer(self, decisions: Decisions) -> dict[int, Allocation]:
        """Move each start made on a type its job likes less than another to the first type
        it prefers that has room now (after every start of the pass), never onto the nodes of
        a reservation nor onto a type a preemption's beneficiary may run on (the room it was
        planned with stays free); the moved jobs' new allocations."""
        moved: dict[int, Allocation] = {}
        running = self.state.running.jobs
        starts = [s for s in decisions.started if len(running[s.job_id].job.types) > 1]
        if not starts:
            return moved
        q = self.state.pending
        planned = {c for p in self.plans for c in q.job(q.slot_of(p.job_id)).types}
        index = self.state.index
        for r in decisions.reservations:  # whole nodes kept: a move never delays a reservation
            nodes = list(r.allocation.nodes)
            index.hold(nodes, [int(self.live.facility.total[n]) for n in nodes])
        try:
            for start in starts:
                job = running[start.job_id].job
                for codes in self._better(job, start.type_code, planned):
                    found = place(index, job, codes)
                    if found is None:
                        continue
                    self.state.release(job.job_id, self.now_s)
                    self.state.submit(job)
                    self.state.start(job, found, self.now_s, start.backfilled)
                    moved[start.job_id] = found.allocation
                    break
        finally:
            index.unhold_all()
        return moved

    def _better(self, job: JobRequest, code: int, planned: set[int]) -> list[tuple[int, ...]]:
        """The job's codes of the types it lists before ``code``'s, one group per type, in
        the job's order of preference (without the ``planned`` codes)."""
        wanted = list(self.rows[self.ids[job.job_id]]["accelerator_types"])
        have = self.live.codes[code].accelerator_type
        rank = wanted.index(have) if have in wanted else len(wanted)
        groups: list[tuple[int, ...]] = []
        for kind in wanted[:rank]:
            group = tuple(
                c
                for c in job.types
                if self.live.codes[c].accelerator_type == kind and c not in planned
            )
            if group:
                groups.append(group)
        return groups

    # --- the configured judge ---------------------------------------------------------------

    def _judged(self, plans: Sequence[PreemptionPlan]) -> list[PreemptionPlan]:
        """The plans that agree with ``Judge.ENTITLEMENT`` (all of them by another judge): a
        beneficiary whose member is not above its entitlement, victims whose members are above
        it beyond the tolerance (the core's top-reservation plan is judged by allocation)."""
        policy = self.state.config.preemption
        if policy is None or policy.judge is not Judge.ENTITLEMENT or not plans:
            return list(plans)
        member, share = self.state.tree.members()
        gap = entitlement_gap(self.state, policy, member, share.size)
        slack = policy.tolerance * self.state.fac.accelerators
        q, running, tree = self.state.pending, self.state.running.jobs, self.state.tree
        kept = []
        for plan in plans:
            job = q.job(q.slot_of(plan.job_id))
            if gap[member[tree.leaf(job.path)]] < 0:
                continue  # its member is above its entitlement: it may not take
            if all(gap[member[running[v].leaf]] < -slack for v in plan.victims):
                kept.append(plan)
        return kept

    # --- reading the decisions -------------------------------------------------------------

    def _decided(self, decisions: Decisions) -> None:
        started = set()
        for start in decisions.started:
            row = self.rows[self.ids[start.job_id]]
            started.add(row["job_id"])
            moved = self.moved.get(start.job_id)
            alloc = start.allocation if moved is None else moved
            self.out.starts.append(
                self._live_start(row, alloc, start.backfilled, moved is not None)
            )
        for r in decisions.reservations:
            names = self._names(r.allocation)
            cluster = self.live.nodes[r.allocation.nodes[0]].cluster
            self.out.waiting[self.ids[r.job_id]] = (
                f"reserved: starts by {_iso(r.shadow_s)} on {cluster} nodes {', '.join(names)} "
                "(later jobs may only backfill around it)"
            )
        for num in decisions.never_fits:
            self.out.waiting[self.ids[num]] = (
                "no node set of the live facility can ever hold this job (shape, type, containment)"
            )
        for plan in self.plans:
            self._preemption(plan.job_id, plan.victims, plan.requeue_s)
        policy = self.state.config.preemption
        judged = policy is not None and policy.judge is not Judge.ATTAINED
        under = self._under_served(policy) if policy is not None and judged else []
        member_of = self.state.tree.members()[0]
        for job in self.state.pending.jobs():
            job_id = self.ids[job.job_id]
            if job_id in started:
                continue
            if job_id not in self.out.waiting:
                self.out.waiting[job_id] = "waiting: no room now on its types and containment"
            if job_id in self.preempted_for:
                self.out.waiting[job_id] += f"; {self.preempted_for[job_id]}"
            if policy is not None and judged:  # words only: a reason changes with the standing
                m = int(member_of[self.state.tree.leaf(job.path)])
                where = "below" if under[m] else "at or above"
                self.out.waiting[job_id] += (
                    f"; member {self._member_name(job.member)} is {where} its share by "
                    f"{policy.judge.value}"
                )

    def _under_served(self, policy: PreemptionPolicy) -> list[bool]:
        """Per member int: below its share by the policy's judge (beyond its tolerance)."""
        member, share = self.state.tree.members()
        n = share.size
        if policy.judge is Judge.ENTITLEMENT:
            gap = entitlement_gap(self.state, policy, member, n)
            slack = policy.tolerance * self.state.fac.accelerators
            return [bool(g > slack) for g in gap]
        ratio = member_service(self.state, policy.judge)
        under = [False] * n
        for leaf, m in enumerate(member.tolist()):
            under[m] = under[m] or bool(ratio[leaf] > 1.0)
        return under

    def _live_start(
        self, row: dict[str, Any], alloc: Allocation, backfilled: bool, moved: bool = False
    ) -> LiveStart:
        nodes = [self.live.nodes[n] for n in alloc.nodes]
        cluster = nodes[0].cluster
        code = self.live.codes[self.live.code_of(alloc.nodes[0])]
        pods = sorted({n.pod for n in nodes})
        if len(nodes) == 1:
            where = f"one node {nodes[0].name} (pod {pods[0]})"
        elif len(pods) == 1:
            where = f"one pod {pods[0]}"
        else:
            where = f"{len(pods)} pods ({', '.join(pods)})"
        part = f"partition {code.partition}" if code.partition else "default partition"
        level = parse_containment(row["containment"]).rank
        how = "backfilled around a reservation" if backfilled else "in priority order"
        wanted = list(row["accelerator_types"])
        fit = "best fit"
        if moved:
            fit = "the first type it prefers with room, best fit"
        elif len(wanted) > 1 and code.accelerator_type != wanted[0]:
            fit = "best fit; the types it lists first have no room for it"
        reason = (
            f"pnyx: {where} of {cluster} ({part}, CL-{level}) for {row['nodes']} node(s) x "
            f"{row['accelerators_per_node']} {code.accelerator_type}, {fit}, {how}"
        )
        if row["datasets"]:  # the broker's word on data locality, where it applies
            site = self.live.site_of.get(cluster)
            held = sum(site in (self.sites or {}).get(d, frozenset()) for d in row["datasets"])
            reason += f", holds {held} of {len(row['datasets'])} datasets at site {site}"
        return LiveStart(row, cluster, code.accelerator_type, tuple(n.name for n in nodes), reason)

    def _names(self, alloc: Allocation) -> list[str]:
        return [self.live.nodes[n].name for n in alloc.nodes]

    def _preemption(self, beneficiary: int, victims: Sequence[int], requeue_s: float) -> None:
        """One notice per victim, with the share reason: each member's service ratio now (its
        max-min share over what it runs; below 1 = above its share) and, by
        ``Judge.ENTITLEMENT``, its gap (accelerators it is owed; < 0: held beyond its
        entitlement); the beneficiary's pending reason names the victims and the judge."""
        policy = self.state.config.preemption
        judge = policy.judge if policy is not None else Judge.ALLOCATION
        job = self.state.pending.job(self.state.pending.slot_of(beneficiary))
        ben_id = self.ids[beneficiary]
        ratio = member_service(self.state, judge)
        member, share = self.state.tree.members()
        gap = np.zeros(share.size)
        if judge is Judge.ENTITLEMENT and policy is not None:
            gap = entitlement_gap(self.state, policy, member, share.size)
        ben_leaf = self.state.tree.leaf(job.path)
        ben_words = f"service ratio {_ratio(ratio[ben_leaf])}"
        if judge is Judge.ENTITLEMENT:
            ben_words += f", owed {float(gap[member[ben_leaf]]):.1f} accelerators"
        names = []
        for v in victims:
            run = self.state.running.jobs[v]
            over = f"service ratio {_ratio(ratio[run.leaf])}"
            if judge is Judge.ENTITLEMENT:
                over += f", {-float(gap[member[run.leaf]]):.1f} accelerators over its entitlement"
            reason = (
                f"to make room for job {ben_id} of member {self._member_name(job.member)} "
                f"({ben_words}, below its share); member {self._member_name(run.job.member)} "
                f"is above its share ({over}, by {judge.value})"
            )
            names.append(self.ids[v])
            self.out.preemptions.append(LivePreemption(self.ids[v], ben_id, requeue_s, reason))
        if names:
            self.preempted_for[ben_id] = (
                f"preempting {', '.join(names)} for it (judged by {judge.value})"
            )

    def _member_name(self, member: int) -> str:
        members = self.fair.members
        return (members[member] if member < len(members) else "") or "?"


def _ratio(value: float) -> str:
    return "unserved" if value == float("inf") else f"{value:.2f}"


@lru_cache(maxsize=65_536)
def _posix(instant: str) -> float:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()


@lru_cache(maxsize=16)
def _level(containment: str) -> int:
    return parse_containment(containment).rank


def _iso(posix_s: float) -> str:
    return format_time(datetime.fromtimestamp(posix_s, UTC))
