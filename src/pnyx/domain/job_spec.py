"""A job's spec as submitted, validated: what to run, on how much of what, for how long.

Every error names the field (``nodes must be an integer in 1..100000, got 0``). Durations are
parsed here too (``parse_duration``: ``90s``, ``2h30m``, ``1d``, ``D-HH:MM:SS``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pnyx.domain.containment import ContainmentLevel, parse_containment
from pnyx.domain.ids import parse_slug
from pnyx.domain.inventory import AcceleratorType
from pnyx.errors import InvalidInputError

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
        check_optional_text(self.name, "name", 200)
        check_optional_text(self.workdir, "workdir", 4096)

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


def check_optional_text(value: object, what: str, limit: int) -> None:
    """Raise unless ``value`` is None or 1-``limit`` characters of text without NUL."""
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
