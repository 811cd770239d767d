"""Jobs: the life-cycle state machine, admission rules, events and decisions (the spec is
validated in :mod:`pnyx.domain.job_spec`).

A job asks for a gang of ``nodes`` x ``accelerators_per_node`` accelerators of one of several
acceptable types, for at most ``time_limit_s``, at a containment level. Its life cycle::

    queued > placed > starting > running > completing > succeeded | failed | cancelled
                                      \\> preempted > requeued > queued | placed
                                      \\> requeued  > queued | placed

Every change is an event with a reason (:func:`decide_transition` refuses a wrong one, naming
both states). A job the engine lost is recorded as ``failed`` with a reason saying so
(:func:`lost_reason`). Pure: times and facts are passed in, never read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.events import Event, Visibility, event_type
from pnyx.domain.ids import parse_slug
from pnyx.domain.job_spec import JobSpec as JobSpec
from pnyx.domain.job_spec import check_optional_text
from pnyx.domain.job_spec import check_reason as check_reason
from pnyx.domain.job_spec import parse_duration as parse_duration
from pnyx.errors import ConflictError, InvalidInputError

MAX_LOG_BYTES = 65_536  # the tail of a job's log that is kept


class JobState(StrEnum):
    """Where a job stands in its life cycle."""

    QUEUED = "queued"
    PLACED = "placed"
    STARTING = "starting"
    RUNNING = "running"
    COMPLETING = "completing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PREEMPTED = "preempted"
    REQUEUED = "requeued"

    @property
    def final(self) -> bool:
        """True when no transition leaves this state."""
        return not TRANSITIONS[self]

    @property
    def ended(self) -> bool:
        """True when the job's run is over (final states, and preempted)."""
        return self in ENDED

    @property
    def on_backend(self) -> bool:
        """True when an engine may hold the job (cancelling must go through the engine)."""
        return self in ON_BACKEND


_S = JobState
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _S.QUEUED: frozenset({_S.PLACED, _S.CANCELLED, _S.FAILED}),
    _S.PLACED: frozenset(
        {_S.QUEUED, _S.STARTING, _S.RUNNING, _S.FAILED, _S.CANCELLED, _S.REQUEUED}
    ),
    _S.STARTING: frozenset(
        {
            _S.RUNNING,
            _S.COMPLETING,
            _S.SUCCEEDED,
            _S.FAILED,
            _S.CANCELLED,
            _S.PREEMPTED,
            _S.REQUEUED,
        }
    ),
    _S.RUNNING: frozenset(
        {_S.COMPLETING, _S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.PREEMPTED, _S.REQUEUED}
    ),
    _S.COMPLETING: frozenset({_S.SUCCEEDED, _S.FAILED, _S.CANCELLED}),
    _S.PREEMPTED: frozenset({_S.REQUEUED, _S.CANCELLED}),
    _S.REQUEUED: frozenset({_S.QUEUED, _S.PLACED, _S.CANCELLED}),
    _S.SUCCEEDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
}
ENDED = frozenset({_S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.PREEMPTED})
# an engine may hold the job (an engine's own requeue keeps it there)
ON_BACKEND = frozenset({_S.PLACED, _S.STARTING, _S.RUNNING, _S.COMPLETING, _S.REQUEUED})
ACTIVE = frozenset(s for s in JobState if not s.final)
RESERVING = ACTIVE - {_S.PREEMPTED}  # their time limits are reserved against the award


def parse_state(value: str, what: str = "job state") -> JobState:
    """The state named ``value``, else raise listing the known ones."""
    try:
        return JobState(value)
    except ValueError:
        known = ", ".join(s.value for s in JobState)
        raise InvalidInputError(f"{what}: unknown state {value!r} (known: {known})") from None


def lost_reason(detail: str) -> str:
    """The reason recorded when an engine lost a job (it is then recorded as failed)."""
    return f"lost: {detail}" if detail else "lost: the engine has no trace of the job"


# --- admission --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardFacts:
    """What admission needs of the award a job is charged to."""

    award_id: str
    project_id: str
    hours: Mapping[str, int]  # accelerator-hours per type
    containment: str
    period_start: str  # YYYY-MM-DD
    period_end: str  # YYYY-MM-DD, inclusive


def check_award(spec: JobSpec, award: AwardFacts | None, today: date) -> list[str]:
    """The acceptable types the award covers (in the job's order), else raise why not."""
    if award is None:
        raise InvalidInputError(f"award_id: award {spec.award_id!r} does not exist")
    if award.project_id != spec.project_id:
        raise InvalidInputError(
            f"award_id: award {spec.award_id} belongs to project {award.project_id}, "
            f"not {spec.project_id}"
        )
    if not date.fromisoformat(award.period_start) <= today <= date.fromisoformat(award.period_end):
        raise ConflictError(
            f"award {award.award_id} runs from {award.period_start} to {award.period_end}; "
            f"today is {today.isoformat()}"
        )
    covered = [k for k in spec.accelerator_types if award.hours.get(k, 0) > 0]
    if not covered:
        raise InvalidInputError(
            f"accelerator_types: award {award.award_id} covers {sorted(award.hours) or 'none'}, "
            f"none of the job's types {list(spec.accelerator_types)}"
        )
    level = parse_containment(award.containment)
    if spec.containment.rank < level.rank:
        raise InvalidInputError(
            f"containment: the job asks for {spec.containment}, below the project's "
            f"{level} (award {award.award_id})"
        )
    return covered


@dataclass(frozen=True)
class Pool:
    """Nodes of one type in one cluster and partition (None: outside every partition)."""

    cluster_id: str
    cluster_containment: str
    partition: str | None
    partition_containment: str | None
    certificate_expires: str | None
    accelerator_type: str
    nodes: int  # nodes with at least the job's accelerators per node


def pool_certified(pool: Pool, level: ContainmentLevel, today: date) -> bool:
    """True when a job of ``level`` may run on ``pool``.

    A partition hosts jobs of exactly its level, and not after its certificate expired.
    Nodes outside every partition host CL-1 and CL-2 jobs up to the cluster's level.
    """
    if pool.partition is not None:
        if pool.partition_containment != level.value:
            return False
        expires = pool.certificate_expires
        return expires is None or date.fromisoformat(expires) >= today
    cluster_level = parse_containment(pool.cluster_containment)
    return level.rank <= 2 and level.rank <= cluster_level.rank


def certified_targets(
    pools: Iterable[Pool], level: ContainmentLevel, types: Sequence[str], nodes: int, today: date
) -> list[tuple[str, str]]:
    """(cluster, type) pairs certified for ``level`` with at least ``nodes`` nodes of the type,
    in the job's type order, then by cluster id."""
    have: dict[tuple[str, str], int] = {}
    for pool in pools:
        if pool.accelerator_type in types and pool_certified(pool, level, today):
            key = (pool.cluster_id, pool.accelerator_type)
            have[key] = have.get(key, 0) + pool.nodes
    order = {k: i for i, k in enumerate(types)}
    return sorted((k for k, n in have.items() if n >= nodes), key=lambda k: (order[k[1]], k[0]))


def check_certified(
    spec: JobSpec, pools: Sequence[Pool], types: Sequence[str], today: date
) -> list[tuple[str, str]]:
    """The certified (cluster, type) targets of a job, else raise saying why there are none."""
    targets = certified_targets(pools, spec.containment, types, spec.nodes, today)
    if targets:
        return targets
    expired = sorted(
        {
            f"{p.cluster_id}/{p.partition} (expired {p.certificate_expires})"
            for p in pools
            if p.partition is not None
            and p.partition_containment == spec.containment.value
            and p.certificate_expires is not None
            and date.fromisoformat(p.certificate_expires) < today
        }
    )
    note = f"; expired certificates: {', '.join(expired)}" if expired else ""
    raise InvalidInputError(
        f"containment: no cluster is certified for {spec.containment} with {spec.nodes} node(s) "
        f"of {'/'.join(types)} x {spec.accelerators_per_node} accelerators{note}"
    )


def reserved_type(
    placed_type: str | None, acceptable: Sequence[str], covered: Collection[str]
) -> str | None:
    """The type an active job's time limit is reserved against: the placed one, else its first
    acceptable type the award covers (None: it reserves nothing of these)."""
    if placed_type is not None:
        return placed_type
    return next((k for k in acceptable if k in covered), None)


# --- events -------------------------------------------------------------------------------------


@event_type
@dataclass(frozen=True)
class JobSubmitted(Event):
    """A job was admitted to the queue. Its environment may hold secrets: it is private."""

    KIND = "job.submitted"
    VISIBILITY = Visibility.RESTRICTED
    PRIVATE_FIELDS = frozenset({"env"})
    job_id: str
    submitter: str
    admission: str  # why it was admitted: the first reason in its history
    project_id: str
    award_id: str
    name: str | None
    command: list[str]
    env: dict[str, str] | None
    nodes: int
    accelerators_per_node: int
    accelerator_types: list[str]
    time_limit_s: int
    containment: str
    preemptible: bool
    checkpoint_signal: str | None
    grace_s: int
    datasets: list[str]
    workdir: str | None


@event_type
@dataclass(frozen=True)
class JobPlacedV1(Event):
    """The broker chose a cluster and accelerator type (version 1: the engine chose the nodes;
    still decoded for old ledgers, no longer written)."""

    KIND = "job.placed"
    job_id: str
    from_state: str
    cluster: str
    accelerator_type: str
    reason: str


@event_type
@dataclass(frozen=True)
class JobPlaced(Event):
    """A queued (or requeued) job was placed on a cluster and accelerator type, and, when pnyx
    chose them (the scheduling core), on ``nodes`` (empty: the engine chooses)."""

    KIND = "job.placed"
    VERSION = 2
    job_id: str
    from_state: str
    cluster: str
    accelerator_type: str
    nodes: list[str]
    reason: str


@event_type
@dataclass(frozen=True)
class JobStateChanged(Event):
    """A job moved from one state to another (what the engine reported, or a decision)."""

    KIND = "job.state_changed"
    job_id: str
    from_state: str
    to_state: str
    reason: str
    backend_job_id: str | None
    nodes: list[str]
    exit_code: int | None


@event_type
@dataclass(frozen=True)
class JobPreemptionNoticed(Event):
    """The dispatcher chose a running preemptible job to make room for another: it was sent
    its checkpoint signal (``signal`` None: it declares none) and will be requeued after the
    grace period, at ``requeue_at``. The job's state does not change yet."""

    KIND = "job.preemption_noticed"
    job_id: str
    state: str
    beneficiary: str  # the job it makes room for
    signal: str | None
    requeue_at: str
    reason: str


def decide_preemption_notice(
    job_id: str,
    current: JobState,
    preemptible: bool,
    beneficiary: str,
    signal: str | None,
    requeue_at: str,
    reason: str,
) -> JobPreemptionNoticed:
    """The event telling a running preemptible job that it will be preempted, or raise."""
    if not preemptible:
        raise ConflictError(f"job {job_id} is not preemptible: it is never a preemption victim")
    if current not in (JobState.STARTING, JobState.RUNNING):
        raise ConflictError(f"job {job_id} is {current}, only a started job can be preempted")
    if beneficiary == job_id:
        raise InvalidInputError(f"job {job_id} cannot be preempted for itself")
    return JobPreemptionNoticed(
        job_id=job_id,
        state=current.value,
        beneficiary=beneficiary,
        signal=signal,
        requeue_at=requeue_at,
        reason=check_reason(reason),
    )


@event_type
@dataclass(frozen=True)
class JobCancelRequested(Event):
    """Someone asked to cancel a job an engine holds; the dispatcher cancels it there."""

    KIND = "job.cancel_requested"
    job_id: str
    requested_by: str
    reason: str


@event_type
@dataclass(frozen=True)
class JobLogRecorded(Event):
    """The tail of a job's log as of now (replaces the one kept). Logs may hold secrets."""

    KIND = "job.log_recorded"
    VISIBILITY = Visibility.RESTRICTED
    PRIVATE_FIELDS = frozenset({"text"})
    job_id: str
    size: int  # bytes of the kept tail
    truncated: bool  # the given log was longer than the kept tail
    text: str | None


# --- decisions ------------------------------------------------------------------------------


def admission_note(dropped: Mapping[str, str]) -> str:
    """The reason recorded at admission: "admitted", naming any acceptable type dropped and why
    (e.g. {"a100": "not awarded"})."""
    if not dropped:
        return "admitted"
    why = "; ".join(f"{kind}: {reason}" for kind, reason in dropped.items())
    return f"admitted; acceptable types dropped ({why})"


def decide_submit(
    job_id: str, submitter: str, spec: JobSpec, admission: str = "admitted"
) -> JobSubmitted:
    """The event admitting ``spec`` (admission checks happen before, in the service)."""
    return JobSubmitted(
        job_id=job_id,
        submitter=submitter,
        admission=check_reason(admission),
        project_id=spec.project_id,
        award_id=spec.award_id,
        name=spec.name,
        command=list(spec.command),
        env=dict(spec.env or {}),
        nodes=spec.nodes,
        accelerators_per_node=spec.accelerators_per_node,
        accelerator_types=list(spec.accelerator_types),
        time_limit_s=spec.time_limit_s,
        containment=spec.containment.value,
        preemptible=spec.preemptible,
        checkpoint_signal=spec.checkpoint_signal,
        grace_s=spec.grace_s,
        datasets=list(spec.datasets),
        workdir=spec.workdir,
    )


def check_transition(job_id: str, current: JobState, target: JobState) -> None:
    """Raise ConflictError naming both states unless ``current`` -> ``target`` is allowed."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise ConflictError(
            f"job {job_id}: cannot go from {current} to {target} (allowed from {current}: "
            f"{allowed})"
        )


def decide_place(
    job_id: str,
    current: JobState,
    cluster: str,
    accelerator_type: str,
    acceptable: Sequence[str],
    reason: str,
    nodes: Sequence[str] = (),
) -> JobPlaced:
    """The event placing a queued or requeued job on ``cluster`` with ``accelerator_type``
    (and on ``nodes`` when pnyx chose them)."""
    check_transition(job_id, current, JobState.PLACED)
    parse_slug(cluster, "cluster")
    names = list(nodes)
    if len(set(names)) != len(names):
        raise InvalidInputError(f"job {job_id}: node list {names} names a node twice")
    for name in names:
        check_optional_text(name, "node name", 200)
    if accelerator_type not in acceptable:
        raise InvalidInputError(
            f"accelerator_type: {accelerator_type!r} is not acceptable to job {job_id} "
            f"({', '.join(acceptable)})"
        )
    return JobPlaced(
        job_id=job_id,
        from_state=current.value,
        cluster=cluster,
        accelerator_type=accelerator_type,
        nodes=names,
        reason=check_reason(reason),
    )


def decide_transition(
    job_id: str,
    current: JobState,
    target: JobState,
    reason: str,
    backend_job_id: str | None = None,
    nodes: Sequence[str] = (),
    exit_code: int | None = None,
) -> JobStateChanged:
    """The event moving a job to ``target`` (placement goes through :func:`decide_place`)."""
    if target is JobState.PLACED:
        raise InvalidInputError("placing a job names its cluster and type: use place_job")
    check_transition(job_id, current, target)
    if backend_job_id is not None and (
        not isinstance(backend_job_id, str) or not 0 < len(backend_job_id) <= 200
    ):
        raise InvalidInputError("backend_job_id must be 1-200 characters")
    names = list(nodes)
    for name in names:
        check_optional_text(name, "node name", 200)
    if exit_code is not None and (type(exit_code) is not int or not -255 <= exit_code <= 255):
        raise InvalidInputError(f"exit_code must be an integer in -255..255, got {exit_code!r}")
    return JobStateChanged(
        job_id=job_id,
        from_state=current.value,
        to_state=target.value,
        reason=check_reason(reason),
        backend_job_id=backend_job_id,
        nodes=names,
        exit_code=exit_code,
    )


def decide_cancel(
    job_id: str, current: JobState, cancel_requested: bool, actor_id: str, reason: str
) -> Event:
    """Cancel now (a job no engine holds) or request it (the dispatcher cancels on the engine)."""
    why = check_reason(reason)
    if current.final:
        raise ConflictError(f"job {job_id} is already {current}")
    if current.on_backend:
        if cancel_requested:
            raise ConflictError(f"job {job_id}: cancellation was already requested")
        return JobCancelRequested(job_id=job_id, requested_by=actor_id, reason=why)
    return decide_transition(job_id, current, JobState.CANCELLED, f"cancelled by {actor_id}: {why}")


def log_tail(text: str) -> tuple[str, bool]:
    """The last MAX_LOG_BYTES of ``text`` (UTF-8, never splitting a character) and whether it
    was cut."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= MAX_LOG_BYTES:
        return text, False
    return data[-MAX_LOG_BYTES:].decode("utf-8", errors="ignore"), True
