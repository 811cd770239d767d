"""Jobs: the validated spec, the life-cycle state machine, admission rules and events.

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

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.events import Event, Visibility, event_type
from pnyx.domain.ids import parse_slug
from pnyx.domain.inventory import AcceleratorType
from pnyx.errors import ConflictError, InvalidInputError

MAX_LOG_BYTES = 65_536  # the tail of a job's log that is kept
MAX_TIME_LIMIT_S = 366 * 86_400
MAX_NODES = 100_000
MAX_ACCELERATORS_PER_NODE = 64
MAX_GRACE_S = 86_400
MAX_ARGS = 1_000
MAX_ARG_CHARS = 8_192
MAX_ENV = 500
MAX_REASON = 2_000
CHECKPOINT_SIGNALS = ("USR1", "USR2", "TERM", "INT", "HUP", "QUIT", "CONT")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DATASET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}@[1-9][0-9]{0,8}$")


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


# --- the spec --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A validated job request (who submits it comes from the caller)."""

    project_id: str
    award_id: str
    command: tuple[str, ...]
    accelerator_types: tuple[str, ...]
    time_limit_s: int
    containment: ContainmentLevel
    nodes: int = 1
    accelerators_per_node: int = 1
    env: Mapping[str, str] | None = None
    name: str | None = None
    preemptible: bool = False
    checkpoint_signal: str | None = None
    grace_s: int = 0
    datasets: tuple[str, ...] = ()
    workdir: str | None = None

    def __post_init__(self) -> None:
        parse_slug(self.project_id, "project_id")
        if not isinstance(self.award_id, str) or not self.award_id.strip():
            raise InvalidInputError("award_id: give the award the job is charged to")
        object.__setattr__(self, "command", _check_command(self.command))
        object.__setattr__(self, "env", _check_env(self.env or {}))
        _check_int(self.nodes, "nodes", 1, MAX_NODES)
        _check_int(
            self.accelerators_per_node, "accelerators_per_node", 0, MAX_ACCELERATORS_PER_NODE
        )
        _check_int(self.time_limit_s, "time_limit_s", 1, MAX_TIME_LIMIT_S)
        _check_int(self.grace_s, "grace_s", 0, MAX_GRACE_S)
        object.__setattr__(self, "accelerator_types", _check_types(self.accelerator_types))
        object.__setattr__(self, "containment", parse_containment(self.containment, "containment"))
        if not isinstance(self.preemptible, bool):
            raise InvalidInputError(f"preemptible must be true or false, got {self.preemptible!r}")
        if self.checkpoint_signal is not None:
            sig = str(self.checkpoint_signal).upper().removeprefix("SIG")
            if sig not in CHECKPOINT_SIGNALS:
                raise InvalidInputError(
                    f"checkpoint_signal: {self.checkpoint_signal!r} is not one of "
                    f"{', '.join(CHECKPOINT_SIGNALS)}"
                )
            object.__setattr__(self, "checkpoint_signal", sig)
        if self.grace_s >= self.time_limit_s and self.checkpoint_signal is not None:
            raise InvalidInputError(
                f"grace_s ({self.grace_s}) must be shorter than time_limit_s ({self.time_limit_s})"
            )
        object.__setattr__(self, "datasets", _check_datasets(self.datasets))
        _check_optional_text(self.name, "name", 200)
        _check_optional_text(self.workdir, "workdir", 4096)

    @property
    def accelerators(self) -> int:
        """Accelerators the whole gang holds."""
        return self.nodes * self.accelerators_per_node


def _check_int(value: object, what: str, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise InvalidInputError(f"{what} must be an integer in {low}..{high}, got {value!r}")


def _check_command(command: object) -> tuple[str, ...]:
    if isinstance(command, str) or not isinstance(command, Sequence) or not command:
        raise InvalidInputError("command must be a non-empty list of arguments (argv, no shell)")
    if len(command) > MAX_ARGS:
        raise InvalidInputError(f"command has {len(command)} arguments, at most {MAX_ARGS}")
    for i, arg in enumerate(command):
        if not isinstance(arg, str) or len(arg) > MAX_ARG_CHARS or "\0" in arg:
            raise InvalidInputError(
                f"command[{i}] must be a string of at most {MAX_ARG_CHARS} characters without NUL"
            )
    if not command[0].strip():
        raise InvalidInputError("command[0] (the program) must not be empty")
    return tuple(command)


def _check_env(env: object) -> dict[str, str]:
    if not isinstance(env, Mapping):
        raise InvalidInputError("env must map variable names to string values")
    if len(env) > MAX_ENV:
        raise InvalidInputError(f"env has {len(env)} variables, at most {MAX_ENV}")
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise InvalidInputError(f"env: {key!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)")
        if not isinstance(value, str) or "\0" in value or len(value) > MAX_ARG_CHARS:
            raise InvalidInputError(f"env[{key}] must be a string (no NUL), got {value!r}")
    return dict(sorted(env.items()))


def _check_types(types: object) -> tuple[str, ...]:
    if isinstance(types, str) or not isinstance(types, Iterable):
        raise InvalidInputError("accelerator_types must be a list of accelerator types")
    out: list[str] = []
    for kind in types:
        try:
            value = AcceleratorType(kind).value
        except ValueError:
            known = ", ".join(t.value for t in AcceleratorType)
            raise InvalidInputError(
                f"accelerator_types: unknown accelerator type {kind!r} (known: {known})"
            ) from None
        if value not in out:
            out.append(value)
    if not out:
        raise InvalidInputError("accelerator_types must name at least one accelerator type")
    return tuple(out)


def _check_datasets(datasets: object) -> tuple[str, ...]:
    if isinstance(datasets, str) or not isinstance(datasets, Iterable):
        raise InvalidInputError("datasets must be a list of 'name@version' strings")
    out = tuple(datasets)
    for ds in out:
        if not isinstance(ds, str) or not _DATASET.match(ds):
            raise InvalidInputError(
                f"datasets: {ds!r} is not 'name@version' with a version number (e.g. web-text@3)"
            )
    return out


def _check_optional_text(value: object, what: str, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\0" in value:
        raise InvalidInputError(f"{what} must be 1-{limit} characters (or absent)")


def check_reason(reason: object) -> str:
    """A transition's reason: non-empty text of at most MAX_REASON characters."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError("reason: say why (a non-empty text)")
    if len(reason) > MAX_REASON:
        raise InvalidInputError(f"reason must be at most {MAX_REASON} characters")
    return reason.strip()


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
_CLOCK = re.compile(r"^(?:(\d+)-)?(\d+):(\d{1,2})(?::(\d{1,2}))?$")


def parse_duration(text: str, what: str = "time limit") -> int:
    """Seconds in ``text``: "90", "90s", "30m", "1h", "2h30m", "1d", "HH:MM[:SS]", "D-HH:MM:SS"."""
    value = text.strip().lower() if isinstance(text, str) else ""
    clock = _CLOCK.match(value)
    if clock:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in clock.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    else:
        match = _DURATION.match(value) if value else None
        if match is None or not any(match.groups()):
            raise InvalidInputError(
                f"{what}: {text!r} is not a duration (e.g. 90s, 30m, 2h30m, 1d, 01:30:00)"
            )
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise InvalidInputError(f"{what}: {text!r} must be longer than zero")
    return total


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
class JobPlaced(Event):
    """The broker chose a cluster and accelerator type for a queued (or requeued) job."""

    KIND = "job.placed"
    job_id: str
    from_state: str
    cluster: str
    accelerator_type: str
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
) -> JobPlaced:
    """The event placing a queued or requeued job on ``cluster`` with ``accelerator_type``."""
    check_transition(job_id, current, JobState.PLACED)
    parse_slug(cluster, "cluster")
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
        _check_optional_text(name, "node name", 200)
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
