"""Use cases for jobs: submit (with admission), read, cancel, place, move through the life
cycle, and keep logs.

Admission (:func:`submit_job`) refuses, before anything is written and with the reason: an
unknown project, a submitter who does not act for it (its proposers; operators for any project),
a dataset version that does not exist, an award of another project or outside its period, types
the award does not cover, a containment level below the project's or one no cluster is certified
for (with enough nodes of a covered type), and a gang x time limit the project's remaining hours
do not cover. The job keeps, of its acceptable types, those that pass every check (the others
are dropped, and the admission reason in its history names each with why), so the broker can
only place it where its usage can be charged. Remaining hours are
the awarded hours minus recorded usage minus the time limits of the project's jobs still queued
or running (their usage is not recorded yet); the check runs under the log lock, so concurrent
submissions cannot overdraw an award together.

Placement and state changes are made by operators (the dispatcher runs as one).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from pnyx.domain import accounting as acc
from pnyx.domain import jobs as dj
from pnyx.domain.containment import parse_containment
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from pnyx.services.context import ServiceContext
from pnyx.services.jobs_dto import HistoryEntry, JobLogView, JobRequest, JobView
from pnyx.services.record import record
from pnyx.store import allocation_repo, dispatch_repo
from pnyx.store import jobs_repo as repo
from pnyx.store.eventstore import log_size


def spec_from_request(request: JobRequest) -> dj.JobSpec:
    """The validated domain spec of a request (raises InvalidInputError naming the field)."""
    return dj.JobSpec(
        project_id=request.project_id,
        award_id=request.award_id,
        command=tuple(request.command),
        accelerator_types=tuple(request.accelerator_types),
        time_limit_s=request.time_limit_s,
        containment=parse_containment(request.containment, "containment"),
        nodes=request.nodes,
        accelerators_per_node=request.accelerators_per_node,
        env=request.env,
        name=request.name,
        preemptible=request.preemptible,
        checkpoint_signal=request.checkpoint_signal,
        grace_s=request.grace_s,
        datasets=tuple(request.datasets),
        workdir=request.workdir,
    )


def submit_job(ctx: ServiceContext, actor: Actor, request: JobRequest) -> JobView:
    """Admit a job to the queue (researchers of the project, operators), or raise why not."""
    require_role(actor, Role.RESEARCHER, Role.OPERATOR)
    spec = spec_from_request(request)
    today = ctx.clock().date()
    with ctx.db.transaction() as conn:
        log_size(conn, lock=True)  # serialises the id counter and the hour reservations below
        _check_submitter(conn, actor, spec.project_id)
        missing = repo.missing_datasets(conn, spec.datasets)
        if missing:
            raise InvalidInputError(
                f"datasets: no dataset version {', '.join(missing)} (ingest it: pnyx data add)"
            )
        covered = dj.check_award(spec, repo.award_facts(conn, spec.award_id), today)
        pools = repo.pools(conn, covered, spec.accelerators_per_node)
        targets = dj.check_certified(spec, pools, covered, today)
        certified = [k for k in covered if any(t[1] == k for t in targets)]
        usable = _with_hours(conn, spec, certified)
        dropped = {
            k: "not awarded" if k not in covered else
            "no certified cluster" if k not in certified else "not enough hours left"
            for k in spec.accelerator_types if k not in usable
        }  # fmt: skip
        admitted = replace(spec, accelerator_types=tuple(usable))
        job_id = f"j-{repo.count_jobs(conn) + 1:06d}"
        event = dj.decide_submit(job_id, actor.principal_id, admitted, dj.admission_note(dropped))
        record(conn, ctx, actor, [event])
        return _view(conn, job_id)


def get_job(ctx: ServiceContext, job_id: str) -> JobView:
    """One job with its history (env values included: pass it through :func:`visible_to`
    before showing it to anyone)."""
    with ctx.db.read() as conn:
        return _view(conn, job_id)


def list_jobs(
    ctx: ServiceContext,
    states: Collection[str] | None = None,
    cluster: str | None = None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[JobView]:
    """Jobs in submission order (or newest first), optionally only those in ``states`` and/or
    on ``cluster``, at most ``limit`` of them."""
    wanted = None if states is None else {dj.parse_state(s).value for s in states}
    with ctx.db.read() as conn:
        rows = repo.job_rows(conn, wanted, cluster, newest_first=newest_first, limit=limit)
        everything = wanted is None and cluster is None and limit is None
        history = repo.history_rows(conn, None if everything else [r["job_id"] for r in rows])
    return [_to_view(r, history.get(r["job_id"], [])) for r in rows]


def count_jobs(ctx: ServiceContext, states: Collection[str] | None = None) -> int:
    """How many jobs there are (in ``states``, if given)."""
    wanted = None if states is None else {dj.parse_state(s).value for s in states}
    with ctx.db.read() as conn:
        return repo.count_jobs(conn, wanted)


def visible_to(view: JobView, actor: Actor) -> JobView:
    """``view`` as ``actor`` may see it: the env (private) only for its submitter and operators;
    anyone else gets ``env`` None, exactly what a replay of the public record shows."""
    if view.env is None or _may_see_private(view, actor):
        return view
    return view.model_copy(update={"env": None})


def public_jobs(ctx: ServiceContext) -> list[JobView]:
    """Every job as the public sees it (what a verifier recomputes from the public record)."""
    return [visible_to(v, Actor.public()) for v in list_jobs(ctx)]


def cancel_job(ctx: ServiceContext, actor: Actor, job_id: str, reason: str) -> JobView:
    """Cancel a job (its submitter, operators). A job no engine holds is cancelled at once; one
    an engine holds is marked ``cancel_requested`` and the dispatcher cancels it there, then
    records the final state."""
    with ctx.db.transaction() as conn:
        row = _row(conn, job_id)
        if not (actor.has(Role.OPERATOR) or actor.principal_id == row["submitter"]):
            raise PermissionDeniedError(
                f"{actor.principal_id} may not cancel job {job_id}: only its submitter "
                f"({row['submitter']}) and operators may"
            )
        current = dj.JobState(row["state"])
        event = dj.decide_cancel(
            job_id, current, row["cancel_requested"], actor.principal_id, reason
        )
        record(conn, ctx, actor, [event])
        return _view(conn, job_id)


def place_job(
    ctx: ServiceContext,
    actor: Actor,
    job_id: str,
    cluster: str,
    accelerator_type: str,
    reason: str,
    nodes: Sequence[str] = (),
) -> JobView:
    """Record the placement of a queued (or requeued) job (operators): the broker's cluster and
    type, and the nodes when pnyx chose them. The cluster must be certified for the job's
    containment level with enough nodes of the type."""
    require_role(actor, Role.OPERATOR)
    today = ctx.clock().date()
    with ctx.db.transaction() as conn:
        row = _row(conn, job_id)
        if row["cancel_requested"]:
            raise ConflictError(f"job {job_id}: cancellation was requested, it is not placed")
        event = dj.decide_place(
            job_id, dj.JobState(row["state"]), cluster, accelerator_type,
            row["accelerator_types"], reason, nodes,
        )  # fmt: skip
        if nodes and len(nodes) != row["nodes"]:
            raise InvalidInputError(
                f"job {job_id}: placed on {len(nodes)} node(s), its gang has {row['nodes']}"
            )
        level = parse_containment(row["containment"])
        pools = repo.pools(conn, [accelerator_type], row["accelerators_per_node"])
        targets = dj.certified_targets(pools, level, [accelerator_type], row["nodes"], today)
        if (cluster, accelerator_type) not in targets:
            raise ConflictError(
                f"job {job_id}: cluster {cluster} has no {level} certified partition with "
                f"{row['nodes']} node(s) of {accelerator_type} x {row['accelerators_per_node']}"
            )
        record(conn, ctx, actor, [event])
        return _view(conn, job_id)


def transition_job(
    ctx: ServiceContext,
    actor: Actor,
    job_id: str,
    state: str,
    reason: str,
    *,
    backend_job_id: str | None = None,
    nodes: Sequence[str] = (),
    exit_code: int | None = None,
) -> JobView:
    """Move a job to ``state`` with a reason (operators); a transition the life cycle does not
    allow raises ConflictError naming both states. Use :func:`place_job` for ``placed``."""
    require_role(actor, Role.OPERATOR)
    target = dj.parse_state(state)
    with ctx.db.transaction() as conn:
        row = _row(conn, job_id)
        event = dj.decide_transition(
            job_id, dj.JobState(row["state"]), target, reason, backend_job_id, nodes, exit_code
        )
        record(conn, ctx, actor, [event])
        return _view(conn, job_id)


def notice_preemption(
    ctx: ServiceContext,
    actor: Actor,
    job_id: str,
    beneficiary: str,
    signal: str | None,
    requeue_at: str,
    reason: str,
) -> None:
    """Record that running preemptible ``job_id`` got its checkpoint signal and will be
    requeued at ``requeue_at`` to make room for ``beneficiary`` (operators; the dispatcher).
    Non-preemptible jobs are refused."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        row = _row(conn, job_id)
        _row(conn, beneficiary)
        state, preemptible = dj.JobState(row["state"]), bool(row["preemptible"])
        event = dj.decide_preemption_notice(
            job_id, state, preemptible, beneficiary, signal, requeue_at, reason
        )
        record(conn, ctx, actor, [event])


def record_job_log(ctx: ServiceContext, actor: Actor, job_id: str, text: str) -> None:
    """Keep the tail of a job's log as of now (operators): ``text`` replaces the kept log, of
    which the last 64 KiB is kept. Logs are private (submitter and operators only)."""
    require_role(actor, Role.OPERATOR)
    if not isinstance(text, str):
        raise InvalidInputError("log text must be a string")
    tail, truncated = dj.log_tail(text)
    with ctx.db.transaction() as conn:
        _row(conn, job_id)
        event = dj.JobLogRecorded(
            job_id=job_id, size=len(tail.encode()), truncated=truncated, text=tail
        )
        record(conn, ctx, actor, [event])


def get_job_log(ctx: ServiceContext, actor: Actor, job_id: str) -> JobLogView:
    """The kept tail of a job's log (its submitter and operators)."""
    with ctx.db.read() as conn:
        row = _row(conn, job_id)
        if not (actor.has(Role.OPERATOR) or actor.principal_id == row["submitter"]):
            raise PermissionDeniedError(
                f"the log of job {job_id} is private to its submitter and operators"
            )
        log = repo.log_row(conn, job_id)
    if log is None:
        return JobLogView(job_id=job_id, text="", size=0, truncated=False, recorded_at=None)
    return JobLogView(
        job_id=job_id,
        text=log["text"] or "",
        size=log["size"],
        truncated=log["truncated"],
        recorded_at=log["recorded_at"],
    )


# --- helpers -----------------------------------------------------------------------------------


def _may_see_private(view: JobView, actor: Actor) -> bool:
    return actor.has(Role.OPERATOR) or (
        actor.principal_id == view.submitter and not actor.has(Role.PUBLIC)
    )


def _check_submitter(conn: Connection, actor: Actor, project_id: str) -> None:
    if not repo.project_exists(conn, project_id):
        raise NotFoundError(
            f"project_id: project {project_id!r} does not exist (no proposal names it)"
        )
    if not actor.has(Role.OPERATOR) and not repo.is_proposer(conn, project_id, actor.principal_id):
        raise PermissionDeniedError(
            f"{actor.principal_id} may not submit jobs for project {project_id}: only its "
            "proposers and operators may"
        )


def _with_hours(conn: Connection, spec: dj.JobSpec, types: list[str]) -> list[str]:
    """The ``types`` whose remaining hours cover the whole gang x time limit (all of them for a
    job without accelerators); raise when none does."""
    if spec.accelerators == 0:
        return types  # a job without accelerators uses no accelerator-hours
    hours = repo.project_hours(conn, spec.project_id)
    used = allocation_repo.used_seconds(conn, spec.project_id)
    reserved: dict[str, int] = {}
    states = {s.value for s in dj.RESERVING}
    for placed, acceptable, seconds in repo.reserved_seconds(conn, spec.project_id, states):
        kind = dj.reserved_type(placed, acceptable, hours)
        if kind is not None:
            reserved[kind] = reserved.get(kind, 0) + seconds
    usable: list[str] = []
    first: Exception | None = None
    for kind in types:
        spent = used.get((spec.project_id, kind), 0) + reserved.get(kind, 0)
        try:
            acc.check_admission(
                spec.project_id, kind, spec.accelerators, spec.time_limit_s, hours.get(kind, 0),
                spent,
            )  # fmt: skip
        except PermissionDeniedError as e:
            first = first or e
            continue
        usable.append(kind)
    if usable:
        return usable
    assert first is not None
    raise PermissionDeniedError(f"{first} (queued and running jobs' time limits count as used)")


def _row(conn: Connection, job_id: str) -> dict[str, Any]:
    row = repo.job_row(conn, job_id)
    if row is None:
        raise NotFoundError(f"job {job_id!r} does not exist")
    return row


def _view(conn: Connection, job_id: str) -> JobView:
    row = _row(conn, job_id)
    view = _to_view(row, repo.history_rows(conn, [job_id]).get(job_id, []))
    if view.state == dj.JobState.QUEUED.value:
        reason, since = dispatch_repo.pending_entry(conn, job_id)
        view = view.model_copy(update={"pending_reason": reason, "pending_since": since})
    return view


_VIEW_FIELDS = frozenset(JobView.model_fields) - {"history"}


def _to_view(row: dict[str, Any], history: list[dict[str, Any]]) -> JobView:
    fields = {k: v for k, v in row.items() if k in _VIEW_FIELDS}
    return JobView(**fields, history=[HistoryEntry(**h) for h in history])
