"""The dispatcher: one pass that keeps the record and the engines in step.

:func:`dispatch_once` does, in this order:

0. **Preempt.** Victims whose grace period is over are cancelled, charged and requeued
   (:mod:`pnyx.services.dispatch_live`; after a restart, the notices on the record resume).
1. **Place.** With ``placement="pnyx"`` the scheduling core places queued jobs on the nodes
   of every cluster whose inventory declares its engine's nodes (gang, topology, best fit,
   containment, EASY backfill, preemption plans: :mod:`pnyx.services.dispatch_live`). Then,
   on the other clusters, queued jobs, highest fair-share priority first
   (:func:`pnyx.services.dispatch_order.order_queued`), are brokered over the clusters whose
   engines answer (:func:`pnyx.domain.broker.choose_cluster`) and placed with the broker's
   reason on the record (:func:`pnyx.services.jobs.place_job`). A job no cluster can take now
   stays queued; the report says why, and so does ``pnyx job show`` (its pending reason).
2. **Drive each engine** (skipped while it is backing off): cancel what was asked to be
   cancelled, submit placed jobs (idempotent on the job's *run key*, so a resubmission after a
   crash finds the run it started) and record ``starting`` with the engine's id, then ask the
   engine for the state of all its jobs in **one** status query, and move each job along:
   running, completing, succeeded / failed / cancelled with the engine's reason. Ended runs are
   charged to the job's project (:func:`pnyx.services.accounting.record_usage`) exactly once
   per run, and the tail of their log is kept.
3. **Faults.** A node failure or a preemption puts the job back in the queue (``requeued`` >
   ``queued``, at most ``max_requeues`` times) under a new run key; an engine's own requeue is
   followed (``requeued``, then ``placed`` again when the engine restarts it); a job the engine
   lost (e.g. a controller killed before it saved its state) is requeued the same way, with a
   reason starting ``lost:``, and fails only after ``max_requeues``.
   :class:`BackendUnavailableError` leaves every job as it is and backs that engine off
   exponentially; nothing is lost, submissions stay queued.

Nothing here needs memory of earlier passes to be correct: after a restart the next pass
re-queries every job an engine holds and resubmits placed ones idempotently
(:class:`DispatchState` only holds backoff timers and caches).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pnyx.backends.base import (
    Backend,
    BackendError,
    BackendState,
    BackendUnavailableError,
    JobSpec,
    JobStatus,
    NodeStatus,
    UsageRecord,
)
from pnyx.domain.broker import BrokerChoice, BrokerConfig, JobNeeds, charge, choose_cluster
from pnyx.domain.containment import parse_containment
from pnyx.domain.dispatch import decide_namespace
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.domain.jobs import ACTIVE, JobState, lost_reason
from pnyx.errors import InvalidInputError, NotFoundError, PnyxError
from pnyx.sched.preemption import Judge, PreemptionPolicy
from pnyx.sched.priority import PriorityWeights
from pnyx.services import accounting, inventory, jobs
from pnyx.services.context import ServiceContext, format_time
from pnyx.services.dispatch_entitlement import EntitlementBook
from pnyx.services.dispatch_facility import LiveFacility
from pnyx.services.dispatch_live import (
    carry_out_preemptions,
    core_clusters,
    place_with_core,
    recover_preemptions,
)
from pnyx.services.dispatch_order import build_offer, order_queued, unavailable_offer
from pnyx.services.dispatch_sched import Preempting
from pnyx.services.dispatch_usage import UsageBook
from pnyx.services.inventory_dto import ClusterSummary
from pnyx.services.record import record
from pnyx.store import dispatch_repo, jobs_repo
from pnyx.store.eventstore import log_size

log = logging.getLogger(__name__)
S = JobState
ACTIVE_STATES = frozenset(s.value for s in ACTIVE)
WATCHED = frozenset({S.STARTING, S.RUNNING, S.COMPLETING, S.REQUEUED})


PLACEMENTS = ("pnyx", "engine")


def default_preemption(judge: Judge = Judge.ENTITLEMENT) -> PreemptionPolicy:
    """Live preemption, as the simulator's ``pnyx`` policy: by default judged by entitlement
    (each member's decayed usage against its weighted max-min share of the decayed capacity
    over every member's decayed demand, rebuilt from the store:
    :mod:`pnyx.services.dispatch_entitlement`), planned per member for its whole deficit, a
    member owed more than 1 % of the facility, the gap spread over 15 min; 5 min grace, for
    jobs blocked 10 min that would wait another 30 min. ``Judge.ALLOCATION``: what members run
    now against their weighted max-min share (no memory); ``Judge.USAGE``: Fair Tree's level
    fair share."""
    by_member = judge in (Judge.ENTITLEMENT, Judge.ALLOCATION)
    return PreemptionPolicy(
        judge=judge,
        min_gain_s=1_800.0,
        by_member=by_member,
        tolerance=0.01 if by_member else 0.0,
        repay_s=900.0,
    )


def dispatch_config(placement: str = "pnyx", judge: str = "entitlement") -> DispatchConfig:
    """The dispatcher's configuration from the settings (``PNYX_PLACEMENT``,
    ``PNYX_PREEMPTION_JUDGE``; ``off``: never preempt)."""
    if judge == "off":
        return DispatchConfig(placement=placement, preemption=None)
    try:
        chosen = Judge(judge)
    except ValueError as e:
        known = ", ".join([j.value for j in Judge if j is not Judge.ATTAINED] + ["off"])
        raise InvalidInputError(f"preemption judge must be one of {known}, got {judge!r}") from e
    if chosen is Judge.ATTAINED:
        raise InvalidInputError("preemption judge 'attained' is for the simulator only")
    return DispatchConfig(placement=placement, preemption=default_preemption(chosen))


@dataclass(frozen=True)
class DispatchConfig:
    """How the dispatcher places, brokers, ranks, preempts, retries and requeues.

    ``placement``: ``"pnyx"`` (default) runs the scheduling core over every cluster whose
    inventory declares nodes its engine reports, placing jobs on nodes (gang, topology, best
    fit, containment), with EASY backfill and preemption; other clusters get jobs through the
    broker and their engine picks the nodes. ``"engine"``: the broker only, for every cluster.
    ``preemption`` None: never preempt.
    """

    broker: BrokerConfig = field(default_factory=BrokerConfig)
    placement: str = "pnyx"
    reservations: int = 1
    preemption: PreemptionPolicy | None = field(default_factory=default_preemption)
    inventory_refresh_s: float = 60.0  # how long the declared nodes of a cluster are cached
    weights: PriorityWeights = field(default_factory=PriorityWeights)
    half_life_days: float = 7.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0
    max_requeues: int = 3
    accounting_wait_passes: int = 5  # passes to wait for a finished run's accounting record
    log_tail_bytes: int = 65_536

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise InvalidInputError(
                f"placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}"
            )
        if self.reservations < 0:
            raise InvalidInputError("reservations must be >= 0 (1 = classic EASY backfill)")


@dataclass
class Backoff:
    """An engine that failed: how often in a row, when to try again, the last error."""

    failures: int = 0
    retry_at: float = 0.0
    error: str = ""


@dataclass
class DispatchState:
    """What the dispatcher keeps between passes: backoff timers and caches only."""

    backoff: dict[str, Backoff] = field(default_factory=dict)
    namespace: str | None = None  # this store's prefix of run keys (read or drawn once)
    runs: dict[str, int] = field(default_factory=dict)  # job id -> requeues by pnyx
    cancels_sent: set[str] = field(default_factory=set)
    accounting_waits: dict[str, int] = field(default_factory=dict)
    preempting: dict[str, Preempting] = field(default_factory=dict)  # victim -> plan
    pending_reasons: dict[str, str] | None = None  # as last written (None: not read yet)
    recovered: bool = False  # preemptions on the record resumed (first pass)
    inventory: dict[str, tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)
    live: tuple[Any, LiveFacility | None] | None = None  # the core's facility and its key
    book: EntitlementBook | None = None  # the entitlement judge's decayed sums (a cache)
    usage: UsageBook | None = None  # the projects' decayed usage (a cache)


@dataclass
class DispatchReport:
    """What one pass did."""

    placed: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    transitions: int = 0
    ended: dict[str, str] = field(default_factory=dict)  # job -> final state
    requeued: list[str] = field(default_factory=list)
    preempting: list[str] = field(default_factory=list)  # victims signalled in this pass
    usage_records: int = 0
    waiting: dict[str, str] = field(default_factory=dict)  # job -> why it stays queued
    unavailable: dict[str, str] = field(default_factory=dict)  # cluster -> error
    status_calls: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return asdict(self)


def run_key(job_id: str, run: int, namespace: str = "") -> str:
    """The engine's idempotency key of a job's run: ``NAMESPACE-ID``, then ``NAMESPACE-ID.rN``
    after the Nth requeue by pnyx (each run is a new engine job). The namespace names the store
    (:func:`pnyx.store.dispatch_repo.store_namespace`), so that two stores driving one engine
    (staging and production, a test and the next) never take each other's jobs for their own.
    Without a namespace (none recorded yet) the key is the bare job id.
    """
    base = f"{namespace}-{job_id}" if namespace else job_id
    return base if run == 0 else f"{base}.r{run}"


def store_namespace(ctx: ServiceContext, actor: Actor | None = None) -> str:
    """This store's namespace in engine job names (see :func:`run_key`): drawn at random and
    recorded (by ``actor``, operators) the first time a dispatcher needs it."""
    with ctx.db.read() as conn:
        found = dispatch_repo.store_namespace(conn)
    if found is not None:
        return found
    if actor is None:
        raise NotFoundError("this store has no engine namespace yet (no dispatcher ran)")
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)  # two dispatchers starting at once record one namespace
        found = dispatch_repo.store_namespace(conn)
        if found is None:
            event = decide_namespace(secrets.token_hex(4))
            record(conn, ctx, actor, [event])
            found = event.namespace
    return found


def dispatch_once(
    ctx: ServiceContext,
    actor: Actor,
    backends: Mapping[str, Backend],
    state: DispatchState | None = None,
    config: DispatchConfig | None = None,
    dataset_sites: Mapping[str, frozenset[str]] | None = None,
) -> DispatchReport:
    """One pass over every active job (see the module docstring); never raises for one job's
    or one engine's trouble, which go to the report."""
    state = state if state is not None else DispatchState()
    config = config or DispatchConfig()
    if not state.namespace:
        state.namespace = store_namespace(ctx, actor)
    pass_ = _Pass(ctx, actor, state, config, DispatchReport())
    with ctx.db.read() as conn:
        rows = jobs_repo.job_rows(conn, ACTIVE_STATES)
    pass_.load_runs(rows)
    pass_.engines = sorted(backends)
    ready = {n: b for n, b in backends.items() if pass_.ready(n)}
    for row in rows:
        if row["state"] == S.PREEMPTED:  # a pass died between preempted and requeued
            pass_.requeue(row, JobStatus(row["job_id"], "", BackendState.PREEMPTED, "preempted"))
    if not state.recovered:  # a restart: resume the preemptions on the record
        recover_preemptions(pass_, rows)
        state.recovered = True
    if state.preempting:
        carry_out_preemptions(pass_, rows, ready)
    queued = [r for r in rows if r["state"] == S.QUEUED and not r["cancel_requested"]]
    if queued:
        pass_.place(ready, rows, queued, dataset_sites or {})
    pass_.save_pending_reasons()
    for name, backend in ready.items():
        mine = [r for r in rows if r["cluster"] == name and S(r["state"]).on_backend]
        if not mine:
            continue
        try:
            pass_.drive(name, backend, mine)
            state.backoff.pop(name, None)
        except BackendUnavailableError as e:
            pass_.back_off(name, e)
        except BackendError as e:  # the engine refused a query: report it, carry on
            pass_.report.errors.append(f"{name}: {e}")
    return pass_.report


class _Pass:
    """The working state of one :func:`dispatch_once` call."""

    def __init__(
        self,
        ctx: ServiceContext,
        actor: Actor,
        state: DispatchState,
        config: DispatchConfig,
        report: DispatchReport,
    ) -> None:
        self.ctx, self.actor, self.state, self.config, self.report = (
            ctx,
            actor,
            state,
            config,
            report,
        )
        self.now = ctx.clock()
        self._declared: dict[str, ClusterSummary | None] = {}
        self.engines: list[str] = []  # every engine's cluster, answering or not
        self._usage: Mapping[str, float] | None = None  # the projects' decayed usage, this pass

    # --- engines' health -------------------------------------------------------------------

    def ready(self, name: str) -> bool:
        """False while ``name`` is backing off (noted in the report)."""
        off = self.state.backoff.get(name)
        if off is not None and self.now.timestamp() < off.retry_at:
            self.report.unavailable[name] = f"{off.error} (retry at {_iso(off.retry_at)})"
            return False
        return True

    def back_off(self, name: str, error: Exception) -> None:
        """Double the wait before the next try of engine ``name`` (up to the maximum)."""
        off = self.state.backoff.setdefault(name, Backoff())
        off.failures += 1
        delay = min(
            self.config.backoff_max_s, self.config.backoff_initial_s * 2 ** (off.failures - 1)
        )
        off.retry_at = self.now.timestamp() + delay
        off.error = str(error)
        self.report.unavailable[name] = f"{error} (retry in {delay:g} s)"
        log.warning("backend %s unavailable (%s); retry in %g s", name, error, delay)

    # --- runs --------------------------------------------------------------------------------

    def load_runs(self, rows: Sequence[dict[str, Any]]) -> None:
        """Learn each job's run index from its history (requeued then queued = one requeue)."""
        missing = [r["job_id"] for r in rows if r["job_id"] not in self.state.runs]
        if not missing:
            return
        with self.ctx.db.read() as conn:
            history = jobs_repo.history_rows(conn, missing)
        for job_id in missing:
            states = [h["state"] for h in history.get(job_id, [])]
            self.state.runs[job_id] = sum(
                1 for a, b in itertools.pairwise(states) if (a, b) == ("requeued", "queued")
            )

    def key(self, row: dict[str, Any]) -> str:
        """The run key of the job's current run."""
        runs = self.state.runs.get(row["job_id"], 0)
        return run_key(row["job_id"], runs, self.state.namespace or "")

    # --- placement ---------------------------------------------------------------------------

    def place(
        self,
        ready: dict[str, Backend],
        rows: Sequence[dict[str, Any]],
        queued: Sequence[dict[str, Any]],
        sites: Mapping[str, frozenset[str]],
    ) -> None:
        """Place ``queued`` jobs over the answering engines: the core on the clusters it
        schedules (see :mod:`pnyx.services.dispatch_live`), the broker on the others."""
        offers = {}
        engine_nodes: dict[str, list[NodeStatus]] = {}
        for name, backend in list(ready.items()):
            try:
                engine_nodes[name] = backend.nodes()
            except BackendError as e:
                if isinstance(e, BackendUnavailableError):
                    self.back_off(name, e)
                    del ready[name]
                offers[name] = unavailable_offer(name, str(e))
                continue
            self.state.backoff.pop(name, None)
        core: dict[str, list[NodeStatus]] = {}
        if self.config.placement == "pnyx":
            core, inventory = core_clusters(self, engine_nodes)
        for name, nodes in engine_nodes.items():
            if name not in core:
                active = [r for r in rows if r["cluster"] == name]
                offers[name] = build_offer(name, self.declared(name), nodes, active)
        if core:
            broker_offers = [o for o in offers.values() if o.available]
            others = sum(
                d.accelerators
                for name in self.engines
                if name not in core and (d := self.declared(name)) is not None
            )
            queued = place_with_core(
                self, rows, queued, core, inventory, sites, ready, broker_offers, others
            )
        if not queued or (core and not any(o.available for o in offers.values())):
            for row in queued:  # the core could not take them and no other engine answers
                self.report.waiting.setdefault(
                    row["job_id"],
                    f"no node of {', '.join(sorted(core))} fits its types, shape and "
                    "containment, and no other cluster's engine answers",
                )
            return
        cfg = self.config
        ordered = order_queued(
            self.ctx, queued, self.now, cfg.weights, cfg.half_life_days, self.project_usage()
        )
        for row in ordered:
            needs = _needs(row)
            result = choose_cluster(
                needs, list(offers.values()), self.now.date(), sites, cfg.broker
            )
            if not isinstance(result, BrokerChoice):
                if core and row["job_id"] in self.report.waiting:
                    continue  # the core's reason (a reservation, no room) says more
                self.report.waiting[row["job_id"]] = result.reason
                continue
            if self.record_place(row, result.cluster_id, result.accelerator_type, result.reason):
                self.report.waiting.pop(row["job_id"], None)
                offers[result.cluster_id] = charge(
                    offers[result.cluster_id], result, needs.accelerators
                )

    def project_usage(self) -> Mapping[str, float]:
        """The projects' decayed usage now, from the book the dispatcher keeps (seeded from
        every usage record on its first pass, then brought forward with what was recorded
        since): the Fair-Tree usage of the broker's order and of the core's priority."""
        if self._usage is None:
            half_life_s = self.config.half_life_days * 86_400.0
            book = self.state.usage
            if book is None or book.half_life_s != half_life_s:
                book = self.state.usage = UsageBook(half_life_s)
            self._usage = book.usage(self.ctx, self.now)
        return self._usage

    def record_place(
        self,
        row: dict[str, Any],
        cluster: str,
        accelerator_type: str,
        reason: str,
        nodes: Sequence[str] = (),
    ) -> bool:
        """Record the placement of ``row`` (on ``nodes`` when pnyx chose them)."""
        try:
            jobs.place_job(
                self.ctx, self.actor, row["job_id"], cluster, accelerator_type, reason, nodes
            )
        except PnyxError as e:
            self.report.errors.append(f"{row['job_id']}: placing on {cluster}: {e}")
            return False
        row.update(state=S.PLACED.value, cluster=cluster, allocated_nodes=list(nodes))
        row["accelerator_type"] = accelerator_type
        self.report.placed.append(row["job_id"])
        return True

    def save_pending_reasons(self) -> None:
        """Keep why each queued job waits (``pnyx job show``): only what changed is written."""
        waiting = self.report.waiting
        old = self.state.pending_reasons
        if old is None:
            with self.ctx.db.read() as conn:
                old = dispatch_repo.pending_reasons(conn)
        changed = {k: v for k, v in waiting.items() if old.get(k) != v}
        gone = [k for k in old if k not in waiting]
        if changed or gone:
            with self.ctx.db.transaction() as conn:
                dispatch_repo.save_pending_reasons(conn, changed, gone, format_time(self.now))
        self.state.pending_reasons = dict(waiting)

    def declared(self, cluster_id: str) -> ClusterSummary | None:
        """The inventory's entry of ``cluster_id`` (None when it declares no such cluster)."""
        if cluster_id not in self._declared:
            try:
                self._declared[cluster_id] = inventory.get_cluster(self.ctx, cluster_id)
            except NotFoundError:
                self._declared[cluster_id] = None
        return self._declared[cluster_id]

    # --- driving one engine ------------------------------------------------------------------

    def drive(self, name: str, backend: Backend, mine: list[dict[str, Any]]) -> None:
        """Cancel, submit, then ONE status query and the transitions it implies."""
        watch: list[dict[str, Any]] = []
        for row in mine:
            if row["cancel_requested"] and self._cancel(backend, row):
                continue
            if row["state"] == S.PLACED:
                self._submit(name, backend, row)
            if S(row["state"]) in WATCHED:
                watch.append(row)
        if not watch:
            return
        keys = {self.key(r): r for r in watch}
        statuses = backend.status(list(keys))
        self.report.status_calls[name] = self.report.status_calls.get(name, 0) + 1
        ended = [
            (keys[k], st) for k, st in statuses.items() if k in keys and _run_ended(keys[k], st)
        ]
        charged = self._import_usage(backend, ended)
        for key, st in statuses.items():
            if key in keys:
                self._follow(name, backend, keys[key], st, charged)

    def _cancel(self, backend: Backend, row: dict[str, Any]) -> bool:
        """Cancel on the engine (once per process); a placed job ends here. True when done."""
        key = self.key(row)
        if key not in self.state.cancels_sent:
            backend.cancel(key)
            self.state.cancels_sent.add(key)
        if row["state"] == S.PLACED:
            self._move(row, S.CANCELLED, _cancel_reason(row))
            return True
        return False

    def _submit(self, name: str, backend: Backend, row: dict[str, Any]) -> None:
        key = self.key(row)
        try:
            engine_id = backend.submit(self._spec(row, key))
        except BackendUnavailableError:
            raise
        except BackendError as e:
            self._move(row, S.FAILED, f"{name} refused the job: {e}")
            return
        reason = f"submitted to {name} as {engine_id} (run {key})"
        if self._move(row, S.STARTING, reason, backend_job_id=engine_id):
            row["backend_job_id"] = engine_id
            self.report.submitted.append(row["job_id"])

    def _spec(self, row: dict[str, Any], key: str) -> JobSpec:
        level = parse_containment(row["containment"]).rank
        return JobSpec(
            job_id=key,
            command=tuple(row["command"]),
            accelerator_type=row["accelerator_type"],
            nodes=row["nodes"],
            accelerators_per_node=row["accelerators_per_node"],
            time_limit_s=row["time_limit_s"],
            env=dict(row["env"] or {}),
            workdir=row["workdir"],
            partition=self._partition(row["cluster"], row["containment"]),
            account=row["project_id"],
            containment=level,
            preemptible=row["preemptible"],
            checkpoint_signal=row["checkpoint_signal"],
            grace_s=row["grace_s"],
            requeue=True,
            node_names=tuple(row["allocated_nodes"] or ()) if row["state"] == S.PLACED else (),
        )

    def _partition(self, cluster_id: str, containment: str) -> str | None:
        """The named partition certified for exactly this level, if the inventory has one."""
        declared = self.declared(cluster_id)
        if declared is None:
            return None
        today = self.now.date().isoformat()
        for p in declared.partitions:
            if p.containment == containment and (
                p.certificate_expires is None or p.certificate_expires >= today
            ):
                return p.name
        return None

    # --- following what the engine says ----------------------------------------------------

    def _follow(
        self, name: str, backend: Backend, row: dict[str, Any], st: JobStatus, charged: set[str]
    ) -> None:
        s, cur = st.state, S(row["state"])
        if s is BackendState.PENDING:
            if cur in (S.RUNNING, S.COMPLETING):  # requeued by the engine between two passes
                self._move(row, S.REQUEUED, f"{name} put it back in its queue")
            if S(row["state"]) is S.REQUEUED:
                self._back_on_engine(row, name, st)
        elif s in (BackendState.RUNNING, BackendState.COMPLETING):
            self._advance(row, name, st, S(s.value))
        elif s is BackendState.REQUEUED:
            if cur is not S.REQUEUED:
                self._move(row, S.REQUEUED, f"{name} requeued it: {st.reason or 'no reason given'}")
        elif s.final:
            if st.start_time is not None and self._awaits_accounting(row, charged, st):
                return
            self._finish(name, backend, row, st)

    def _awaits_accounting(self, row: dict[str, Any], charged: set[str], st: JobStatus) -> bool:
        """True while a run that started has no accounting record yet (engines lag); after
        ``accounting_wait_passes`` passes the run is charged from the engine's start and end
        times instead (an engine without accounting, e.g. Slurm without slurmdbd)."""
        key = self.key(row)
        if key in charged:
            self.state.accounting_waits.pop(key, None)
            return False
        waited = self.state.accounting_waits.get(key, 0)
        if waited < self.config.accounting_wait_passes:
            self.state.accounting_waits[key] = waited + 1
            return True
        self.state.accounting_waits.pop(key, None)
        if st.start_time is not None and st.end_time is not None:
            size = int(row["nodes"]) * int(row["accelerators_per_node"])
            rec = UsageRecord(
                key, st.backend_job_id, row["accelerator_type"], size, st.start_time, st.end_time
            )
            self.charge_unless_done(row, rec)
        else:
            self.report.errors.append(f"{row['job_id']}: no accounting record for run {key}")
        return False

    def _back_on_engine(self, row: dict[str, Any], cluster: str, st: JobStatus) -> bool:
        """A job the engine requeued is in its queue again: placed (same cluster), starting."""
        reason = (
            f"broker: {cluster} restarts it after its own requeue (engine id {st.backend_job_id})"
        )
        if not self._place_again(row, cluster, reason):
            return False
        return self._move(
            row,
            S.STARTING,
            "waiting in the engine's queue",
            backend_job_id=st.backend_job_id or None,
        )

    def _place_again(self, row: dict[str, Any], cluster: str, reason: str) -> bool:
        try:
            jobs.place_job(
                self.ctx, self.actor, row["job_id"], cluster, row["accelerator_type"], reason
            )
        except PnyxError as e:
            self.report.errors.append(f"{row['job_id']}: {e}")
            return False
        row["state"] = S.PLACED.value
        self.report.transitions += 1
        return True

    def _advance(self, row: dict[str, Any], cluster: str, st: JobStatus, target: S) -> bool:
        """Walk the job forward to ``target`` (running or completing)."""
        nodes = tuple(st.nodes)
        if S(row["state"]) is S.REQUEUED and not self._place_again(
            row, cluster, f"broker: {cluster} restarts it after its own requeue"
        ):
            return False
        cur = S(row["state"])
        if cur in (S.PLACED, S.STARTING) and not self._move(
            row, S.RUNNING, f"running on {', '.join(nodes) or cluster}", nodes=nodes
        ):
            return False
        if target is S.COMPLETING and S(row["state"]) is S.RUNNING:
            return self._move(row, S.COMPLETING, "ended, the engine is cleaning up")
        return True

    def _finish(self, name: str, backend: Backend, row: dict[str, Any], st: JobStatus) -> None:
        s = st.state
        if s in (BackendState.NODE_FAIL, BackendState.PREEMPTED):
            self.requeue(row, st)
            return
        if s is BackendState.LOST:
            if row["cancel_requested"]:
                self._end(backend, row, S.CANCELLED, _cancel_reason(row), st)
            else:  # never silently gone: a new run, up to max_requeues, then failed
                self.requeue(row, replace(st, reason=lost_reason(st.reason)))
            return
        target, reason = _final_of(row, st)
        if target is not S.CANCELLED and S(row["state"]) in (S.PLACED, S.REQUEUED):
            self._advance(row, name, st, S.RUNNING)
        self._end(backend, row, target, reason, st)

    def _end(
        self, backend: Backend, row: dict[str, Any], target: S, reason: str, st: JobStatus
    ) -> None:
        self._keep_log(backend, row)
        if self._move(row, target, reason, exit_code=st.exit_code):
            self.report.ended[row["job_id"]] = target.value

    def requeue(self, row: dict[str, Any], st: JobStatus) -> None:
        """Back to the pnyx queue under a new run key; a preempted run is recorded as such
        first. After ``max_requeues`` requeues a preempted job is cancelled, a failed one fails.
        """
        runs = self.state.runs.get(row["job_id"], 0)
        what = st.reason or st.state.value
        cur = S(row["state"])
        preempted = st.state is BackendState.PREEMPTED and cur in (S.STARTING, S.RUNNING)
        if preempted and not self._move(row, S.PREEMPTED, f"preempted: {what}"):
            return
        if row["cancel_requested"]:
            self._move(row, S.CANCELLED, f"{_cancel_reason(row)} ({what})")
            return
        if runs >= self.config.max_requeues:
            final = S.CANCELLED if S(row["state"]) in (S.PREEMPTED, S.REQUEUED) else S.FAILED
            self._move(row, final, f"{what}; requeued {runs} times already, not again")
            return
        if S(row["state"]) is not S.REQUEUED and not self._move(row, S.REQUEUED, what):
            return
        next_key = run_key(row["job_id"], runs + 1, self.state.namespace or "")
        if self._move(row, S.QUEUED, f"back in the queue; its next run is {next_key}"):
            self.state.runs[row["job_id"]] = runs + 1
            self.report.requeued.append(row["job_id"])

    def _move(self, row: dict[str, Any], target: S, reason: str, **kw: Any) -> bool:
        try:
            jobs.transition_job(self.ctx, self.actor, row["job_id"], target.value, reason, **kw)
        except PnyxError as e:
            self.report.errors.append(f"{row['job_id']}: {e}")
            return False
        row["state"] = target.value
        self.report.transitions += 1
        return True

    def _keep_log(self, backend: Backend, row: dict[str, Any]) -> None:
        try:
            text = backend.logs(self.key(row), self.config.log_tail_bytes)
        except BackendUnavailableError:
            raise
        except BackendError as e:
            self.report.errors.append(f"{row['job_id']}: no log: {e}")
            return
        if text:
            jobs.record_job_log(self.ctx, self.actor, row["job_id"], text)

    # --- usage -------------------------------------------------------------------------------

    def _import_usage(
        self, backend: Backend, ended: Sequence[tuple[dict[str, Any], JobStatus]]
    ) -> set[str]:
        """Charge every finished run of ``ended`` once; the run keys that have usage on record."""
        if not ended:
            return set()
        keys = {self.key(row): row for row, _ in ended}
        records = backend.accounting(list(keys))
        with self.ctx.db.read() as conn:
            imported = dispatch_repo.imported_runs(conn, {r["job_id"] for r in keys.values()})
        done = {(j, k, _norm(a), _norm(b)) for j, k, a, b in imported}
        charged: set[str] = set()
        for rec in records:
            row = keys.get(rec.job_id)
            if row is None:
                continue
            charged.add(rec.job_id)
            start, end = _iso(rec.start_time), _iso(rec.end_time)
            mark = (row["job_id"], rec.accelerator_type, _norm(start), _norm(end))
            if mark in done or rec.accel_seconds <= 0 or rec.end_time <= rec.start_time:
                continue
            if self._charge(row, rec, start, end):
                done.add(mark)
        return charged

    def charge_unless_done(self, row: dict[str, Any], rec: UsageRecord) -> None:
        """Charge one run from the engine's times unless a record of it exists."""
        start, end = _iso(rec.start_time), _iso(rec.end_time)
        with self.ctx.db.read() as conn:
            imported = dispatch_repo.imported_runs(conn, {row["job_id"]})
        done = {(j, k, _norm(a), _norm(b)) for j, k, a, b in imported}
        mark = (row["job_id"], rec.accelerator_type, _norm(start), _norm(end))
        if mark not in done and rec.accel_seconds > 0 and rec.end_time > rec.start_time:
            self._charge(row, rec, start, end)

    def _charge(self, row: dict[str, Any], rec: UsageRecord, start: str, end: str) -> bool:
        try:
            accounting.record_usage(
                self.ctx, self.actor, row["project_id"], rec.accelerator_type,
                rec.accel_seconds, start, end, row["job_id"],
            )  # fmt: skip
        except PnyxError as e:
            self.report.errors.append(f"{row['job_id']}: usage of run {rec.job_id}: {e}")
            return False
        self.report.usage_records += 1
        return True


def _run_ended(row: dict[str, Any], st: JobStatus) -> bool:
    """True when the engine says a run of the job is over (its usage can be charged)."""
    if st.state.final or st.state is BackendState.REQUEUED:
        return True
    return st.state is BackendState.PENDING and row["state"] in (S.RUNNING, S.COMPLETING)


def _needs(row: dict[str, Any]) -> JobNeeds:
    return JobNeeds(
        job_id=row["job_id"],
        types=tuple(row["accelerator_types"]),
        nodes=row["nodes"],
        accelerators_per_node=row["accelerators_per_node"],
        containment=parse_containment(row["containment"]).rank,
        datasets=tuple(row["datasets"]),
    )


def _final_of(row: dict[str, Any], st: JobStatus) -> tuple[S, str]:
    s = st.state
    if s is BackendState.SUCCEEDED:
        return S.SUCCEEDED, st.reason or "exited with code 0"
    if s is BackendState.CANCELLED:
        if row["cancel_requested"]:
            return S.CANCELLED, _cancel_reason(row)
        return S.CANCELLED, f"cancelled on the engine: {st.reason or 'no reason given'}"
    if s is BackendState.TIMEOUT:
        return S.FAILED, f"time limit of {row['time_limit_s']} s reached"
    code = f"exit code {st.exit_code}" if st.exit_code is not None else "no exit code"
    return S.FAILED, st.reason or f"failed ({code})"


def _cancel_reason(row: dict[str, Any]) -> str:
    return f"cancelled: {row.get('cancel_reason') or 'requested'}"


def _norm(instant: str) -> datetime:
    """An instant as recorded (RFC 3339, any spelling of UTC), for comparing."""
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


def _iso(posix_s: float) -> str:
    return format_time(datetime.fromtimestamp(posix_s, UTC))
