"""The dispatcher's steps that use the scheduling core: place, preempt (``placement="pnyx"``).

- :func:`place_with_core`: clusters whose engine answers and whose nodes the inventory
  declares (at least one engine node name matches) are scheduled by the core
  (:func:`pnyx.services.dispatch_sched.schedule_live`): started jobs are placed on their nodes
  (the ``placed`` event lists them, the submission pins them), blocked ones keep a pending
  reason (a reservation: "reserved: starts by T on nodes ..."), and preemption plans are
  started. Jobs the core did not start are offered to the other clusters (whose inventory has
  no nodes the engine knows) through the broker, as in ``placement="engine"``.
- :func:`signal_victims` / :func:`carry_out_preemptions`: a victim (always a preemptible job)
  gets its checkpoint signal now (``backend.signal``) and an event saying why and until when;
  after the grace period it is cancelled on its engine, its run charged, and requeued (events
  ``preempted`` > ``requeued`` > ``queued``) with a reason naming the job it made room for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pnyx.backends.base import (
    Backend,
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobStatus,
    NodeStatus,
    UsageRecord,
)
from pnyx.backends.local_run import signal_number
from pnyx.domain.broker import (
    BrokerChoice,
    BrokerConfig,
    ClusterOffer,
    JobNeeds,
    charge,
    choose_cluster,
)
from pnyx.domain.containment import parse_containment
from pnyx.domain.jobs import JobState
from pnyx.errors import PnyxError
from pnyx.sched import SchedulerConfig
from pnyx.sched.preemption import Judge, PreemptionPolicy
from pnyx.services import jobs
from pnyx.services.context import format_time
from pnyx.services.dispatch_entitlement import Entitlement, EntitlementBook, leaves_of
from pnyx.services.dispatch_facility import build_live_facility, is_down
from pnyx.services.dispatch_order import fair_inputs
from pnyx.services.dispatch_sched import (
    OCCUPYING,
    LivePreemption,
    LiveStart,
    Preempting,
    schedule_live,
)
from pnyx.store import dispatch_repo

if TYPE_CHECKING:
    from pnyx.services.dispatch import _Pass

S = JobState


def core_clusters(
    pass_: _Pass, engine_nodes: Mapping[str, Sequence[NodeStatus]]
) -> tuple[dict[str, list[NodeStatus]], list[dict[str, Any]]]:
    """The clusters the core schedules (declared, and the engine knows some declared node),
    with their engine nodes; and the inventory nodes of those clusters."""
    declared = [n for n in engine_nodes if pass_.declared(n) is not None]
    inventory = _inventory(pass_, declared)
    names = {(r["cluster_id"], r["node_name"]) for r in inventory}
    chosen = {
        name: list(engine_nodes[name])
        for name in declared
        if any((name, node.name) in names for node in engine_nodes[name])
    }
    return chosen, [r for r in inventory if r["cluster_id"] in chosen]


def _inventory(pass_: _Pass, clusters: Sequence[str]) -> list[dict[str, Any]]:
    """The declared nodes of ``clusters``, read again at most every ``inventory_refresh_s``
    (a facility's inventory changes rarely; a big cluster has thousands of nodes)."""
    cache, now = pass_.state.inventory, pass_.now.timestamp()
    stale = [
        c for c in clusters
        if c not in cache or now - cache[c][0] >= pass_.config.inventory_refresh_s
    ]  # fmt: skip
    if stale:
        with pass_.ctx.db.read() as conn:
            rows = dispatch_repo.inventory_nodes(conn, stale)
        for c in stale:
            cache[c] = (now, [r for r in rows if r["cluster_id"] == c])
    return [r for c in clusters for r in cache[c][1]]


def place_with_core(
    pass_: _Pass,
    rows: Sequence[dict[str, Any]],
    queued: Sequence[dict[str, Any]],
    engine_nodes: Mapping[str, list[NodeStatus]],
    inventory: Sequence[dict[str, Any]],
    sites: Mapping[str, frozenset[str]],
    backends: Mapping[str, Backend],
    offers: Sequence[ClusterOffer] = (),
    other_accelerators: int = 0,
) -> list[dict[str, Any]]:
    """Place with the core on ``engine_nodes``' clusters; the queued rows it did not start.

    A start on a type the job likes less than one the broker could start it on now, on one
    of the other clusters (``offers``), is not made: the job is left to the broker, so that
    its preferred type wins wherever it has room. ``other_accelerators``: the declared
    accelerators of the other clusters (the entitlement judge's capacity is the machine's)."""
    key = (
        pass_.now.date(),
        tuple(sorted((r["cluster_id"], r["node_name"], r["pod_id"]) for r in inventory)),
        tuple((c, n.name, n.accelerator_type, n.accelerators, is_down(n.state))
              for c in sorted(engine_nodes) for n in engine_nodes[c]),
    )  # fmt: skip
    cached = pass_.state.live
    if cached is not None and cached[0] == key:
        live = cached[1]
    else:  # the nodes, their states or today's certificates changed: build it again
        declared = {name: pass_.declared(name) for name in engine_nodes}
        live = build_live_facility(
            {k: v for k, v in declared.items() if v is not None},
            inventory,
            engine_nodes,
            pass_.now.date(),
        )
        pass_.state.live = (key, live)
    if live is None:
        return list(queued)
    active = [r for r in rows if r["cluster"] in engine_nodes and r["state"] in OCCUPYING]
    cfg = pass_.config
    ent = _entitlement(pass_, rows) if _judges_by_entitlement(cfg.preemption) else None
    own = set(leaves_of([*active, *queued]))
    history = [k for k in (ent.usage.keys() | ent.demand.keys() if ent else ()) if k not in own]
    fair = fair_inputs(
        pass_.ctx, [*active, *queued], pass_.now, cfg.half_life_days, sorted(history), ent is None,
        pass_.project_usage() if ent is None else None,
    )  # fmt: skip
    core = SchedulerConfig(
        weights=cfg.weights,
        reservations=cfg.reservations,
        half_life_s=cfg.half_life_days * 86_400.0,
        preemption=cfg.preemption,
    )
    out = schedule_live(
        live, active, queued, fair, pass_.now, core, pass_.state.preempting, sites, ent,
        other_accelerators,
    )  # fmt: skip
    started: set[str] = set()
    elsewhere = {o.cluster_id: o for o in offers}
    for start in out.starts:
        better = _preferred_elsewhere(start, elsewhere, pass_.now.date(), sites, cfg.broker)
        if better is not None:  # the broker has room now on a type the job prefers
            size = int(start.row["nodes"]) * int(start.row["accelerators_per_node"])
            elsewhere[better.cluster_id] = charge(elsewhere[better.cluster_id], better, size)
            out.waiting[start.row["job_id"]] = (
                f"waiting: {better.cluster_id} has room now for {better.accelerator_type}, "
                f"which it prefers to {start.accelerator_type}"
            )
            continue
        if pass_.record_place(
            start.row, start.cluster, start.accelerator_type, start.reason, start.nodes
        ):
            started.add(start.row["job_id"])
    pass_.report.waiting.update(out.waiting)
    by_id = {r["job_id"]: r for r in rows}
    for plan in out.preemptions:
        victim = by_id.get(plan.victim)
        if victim is not None and victim["cluster"] in backends:
            signal_victim(pass_, backends[victim["cluster"]], victim, plan)
    return [r for r in queued if r["job_id"] not in started]


def _judges_by_entitlement(policy: PreemptionPolicy | None) -> bool:
    return policy is not None and policy.judge is Judge.ENTITLEMENT


def _entitlement(pass_: _Pass, rows: Sequence[dict[str, Any]]) -> Entitlement:
    """The decayed integrals now, from the book the dispatcher keeps (seeded from the store
    on its first pass, then brought forward with what ended since)."""
    half_life_s = pass_.config.half_life_days * 86_400.0
    book = pass_.state.book
    if book is None or book.half_life_s != half_life_s:
        book = pass_.state.book = EntitlementBook(half_life_s)
    now_s = pass_.now.timestamp()
    book.refresh(pass_.ctx, now_s)
    return book.at(rows, now_s)


def _preferred_elsewhere(
    start: LiveStart,
    offers: Mapping[str, ClusterOffer],
    today: date,
    sites: Mapping[str, frozenset[str]],
    broker: BrokerConfig,
) -> BrokerChoice | None:
    """The broker's choice when it could start ``start``'s job now, on another cluster, on a
    type the job lists before ``start``'s (None: make the start)."""
    types = list(start.row["accelerator_types"])
    if not offers or start.accelerator_type not in types or types[0] == start.accelerator_type:
        return None
    better = types[: types.index(start.accelerator_type)]
    needs = JobNeeds(
        job_id=start.row["job_id"],
        types=tuple(better),
        nodes=start.row["nodes"],
        accelerators_per_node=start.row["accelerators_per_node"],
        containment=parse_containment(start.row["containment"]).rank,
        datasets=tuple(start.row["datasets"]),
    )
    choice = choose_cluster(needs, list(offers.values()), today, sites, broker)
    if not isinstance(choice, BrokerChoice) or not choice.starts_now:
        return None
    return choice


def signal_victim(
    pass_: _Pass, backend: Backend, row: dict[str, Any], plan: LivePreemption
) -> None:
    """Send the victim its checkpoint signal and record the notice (once per plan)."""
    if not row["preemptible"] or row["state"] != S.RUNNING or plan.victim in pass_.state.preempting:
        return  # never a non-preemptible job; only a running one (it has processes to signal)
    requeue_at = max(plan.requeue_at, pass_.now.timestamp() + int(row["grace_s"] or 0))
    name = row["checkpoint_signal"]
    try:
        signum = signal_number(name)
        if signum is not None:
            backend.signal(pass_.key(row), signum)
        jobs.notice_preemption(
            pass_.ctx,
            pass_.actor,
            row["job_id"],
            plan.beneficiary,
            name,
            _iso(requeue_at),
            plan.reason,
        )
    except BackendUnavailableError:
        raise
    except (BackendError, PnyxError) as e:
        pass_.report.errors.append(f"{row['job_id']}: preemption signal: {e}")
        return
    pass_.state.preempting[plan.victim] = Preempting(plan.beneficiary, requeue_at, plan.reason)
    pass_.report.preempting.append(row["job_id"])


def carry_out_preemptions(
    pass_: _Pass, rows: Sequence[dict[str, Any]], backends: Mapping[str, Backend]
) -> None:
    """Requeue every victim whose grace period is over (cancel, charge the run, requeue)."""
    by_id = {r["job_id"]: r for r in rows}
    now = pass_.now.timestamp()
    for victim, p in list(pass_.state.preempting.items()):
        row = by_id.get(victim)
        if row is None or S(row["state"]) not in (S.STARTING, S.RUNNING):
            del pass_.state.preempting[victim]  # it ended (or was requeued) by itself
            continue
        backend = backends.get(row["cluster"])
        if now < p.requeue_at or backend is None:
            continue
        try:
            _stop_and_charge(pass_, backend, row, now)
        except BackendError as e:
            pass_.report.errors.append(f"{victim}: preemption: {e}")
            continue
        del pass_.state.preempting[victim]
        what = f"by pnyx {p.reason}"
        pass_.requeue(row, JobStatus(victim, "", BackendState.PREEMPTED, what))


def _stop_and_charge(pass_: _Pass, backend: Backend, row: dict[str, Any], now: float) -> None:
    """Cancel the victim's run and charge it: the engine's accounting record when it has one
    already, else pnyx's own record of the run (running since ``started_at``, until now)."""
    key = pass_.key(row)
    backend.cancel(key)
    records = [r for r in backend.accounting([key]) if r.job_id == key]
    if not records and row.get("started_at"):
        start = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00")).timestamp()
        size = int(row["nodes"]) * int(row["accelerators_per_node"])
        engine_id = str(row.get("backend_job_id") or "")
        records = [UsageRecord(key, engine_id, row["accelerator_type"], size, start, now)]
    for rec in records:
        pass_.charge_unless_done(row, rec)


def _iso(posix_s: float) -> str:
    return format_time(datetime.fromtimestamp(posix_s, UTC))


def recover_preemptions(pass_: _Pass, rows: Sequence[dict[str, Any]]) -> None:
    """After a restart: the preemptions noticed on the record but not carried out yet (running
    jobs whose latest word is a preemption notice) are resumed, at their recorded time."""
    noticed = [
        r["job_id"]
        for r in rows
        if r["state"] == S.RUNNING and str(r["state_reason"]).startswith("preempting:")
    ]
    if not noticed:
        return
    with pass_.ctx.db.read() as conn:
        notices = dispatch_repo.preemption_notices(conn, noticed)
    for job_id, (beneficiary, requeue_at, reason) in notices.items():
        at = datetime.fromisoformat(requeue_at.replace("Z", "+00:00")).timestamp()
        pass_.state.preempting.setdefault(job_id, Preempting(beneficiary, at, reason))
