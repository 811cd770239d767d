"""Accounting: usage charges awards, admission refuses over-use, fair-share usage decays.

Usage is kept in accelerator-seconds (exact integers) and reported in accelerator-hours.
Billing weights (ACCESS-style) convert facility credits to hours per accelerator type:
``hours = floor(credits / weight)``. Fair-share usage decays exponentially with a half-life
(default 7 days, as Slurm's PriorityDecayHalfLife): a record that ended ``age_s`` ago counts
``0.5 ** (age_s / half_life_s)`` of its hours. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from pnyx.domain.events import Event, event_type
from pnyx.domain.ids import parse_slug
from pnyx.domain.inventory import AcceleratorType
from pnyx.errors import InvalidInputError, PermissionDeniedError

SECONDS_PER_HOUR = 3600
DEFAULT_HALF_LIFE_DAYS = 7.0
DEFAULT_BILLING_WEIGHTS: dict[str, str] = {
    "h100": "1.0",
    "h200": "1.3",
    "b200": "2.0",
    "mi300x": "0.9",
    "gaudi3": "0.6",
}


@event_type
@dataclass(frozen=True)
class UsageRecorded(Event):
    """A job (or the backend) used accelerators of one type for a project."""

    KIND = "usage.recorded"
    usage_id: str
    project_id: str
    accelerator_type: str
    accel_seconds: int
    start: str
    end: str
    job_id: str


@event_type
@dataclass(frozen=True)
class BillingWeightsSet(Event):
    """An operator sets a new version of the billing-weight table (type -> decimal weight)."""

    KIND = "billing.weights_set"
    version: int
    weights: dict[str, str]


def parse_weights(raw: Mapping[str, object]) -> dict[str, str]:
    """Known types with positive decimal weights, sorted; raise naming the bad entry."""
    if not raw:
        raise InvalidInputError("a billing-weight table needs at least one type")
    out: dict[str, str] = {}
    for key, value in raw.items():
        try:
            kind = AcceleratorType(key).value
            weight = Fraction(str(value))
        except ValueError:
            raise InvalidInputError(
                f"billing weight {key}={value!r}: unknown type or not a number"
            ) from None
        if weight <= 0:
            raise InvalidInputError(f"billing weight of {key} must be positive, got {value}")
        out[kind] = str(value)
    return dict(sorted(out.items()))


def credits_to_hours(credits: Mapping[str, int], weights: Mapping[str, str]) -> dict[str, int]:
    """Facility credits per type converted to accelerator-hours (rounded down)."""
    out: dict[str, int] = {}
    for kind, amount in credits.items():
        if kind not in weights:
            raise InvalidInputError(f"no billing weight for {kind} (table has {sorted(weights)})")
        out[kind] = int(Fraction(amount) / Fraction(weights[kind]))
    return out


def hours_to_credits(hours: Mapping[str, int], weights: Mapping[str, str]) -> Fraction:
    """What hours per type cost in facility credits (types without a weight cost 1)."""
    return sum((Fraction(h) * Fraction(weights.get(k, "1")) for k, h in hours.items()), Fraction(0))


def decide_usage(
    usage_id: str,
    project_id: str,
    accelerator_type: str,
    accel_seconds: int,
    start: datetime,
    end: datetime,
    job_id: str,
    awarded_types: set[str],
) -> UsageRecorded:
    """The event recording usage, or raise (bad figures, no award of that type)."""
    parse_slug(project_id, "project id")
    if type(accel_seconds) is not int or accel_seconds <= 0:
        raise InvalidInputError(f"accel_seconds must be a positive integer, got {accel_seconds!r}")
    if end <= start:
        raise InvalidInputError(
            f"usage end {end.isoformat()} must follow start {start.isoformat()}"
        )
    if accelerator_type not in awarded_types:
        raise InvalidInputError(
            f"project {project_id} has no award of {accelerator_type!r} "
            f"(awarded: {sorted(awarded_types) or 'none'})"
        )
    return UsageRecorded(
        usage_id=usage_id,
        project_id=project_id,
        accelerator_type=accelerator_type,
        accel_seconds=accel_seconds,
        start=start.isoformat(),
        end=end.isoformat(),
        job_id=job_id,
    )


def check_admission(
    project_id: str,
    accelerator_type: str,
    accelerators: int,
    time_limit_s: int,
    awarded_hours: int,
    used_seconds: int,
) -> None:
    """Raise unless the project's remaining hours of this type cover the job's request."""
    if accelerators <= 0 or time_limit_s <= 0:
        raise InvalidInputError("accelerators and time_limit_s must be positive")
    wanted = accelerators * time_limit_s
    left = awarded_hours * SECONDS_PER_HOUR - used_seconds
    if wanted > left:
        raise PermissionDeniedError(
            f"project {project_id} has {left / SECONDS_PER_HOUR:.2f} {accelerator_type} "
            f"accelerator-hours left, the job asks for {wanted / SECONDS_PER_HOUR:.2f} "
            f"({accelerators} x {time_limit_s} s)"
        )


def decay_factor(age_s: float, half_life_s: float) -> float:
    """``0.5 ** (age_s / half_life_s)``; usage in the future (age < 0) counts fully."""
    if half_life_s <= 0:
        raise InvalidInputError(f"half-life must be positive, got {half_life_s}")
    return 1.0 if age_s <= 0 else 0.5 ** (age_s / half_life_s)


def decayed_usage(
    records: Iterable[tuple[str, int, datetime]], now: datetime, half_life_s: float
) -> dict[str, float]:
    """project -> decayed accelerator-hours from (project, accel_seconds, end) records."""
    out: dict[str, float] = {}
    for project, seconds, end in records:
        age = (now - end).total_seconds()
        hours = seconds / SECONDS_PER_HOUR * decay_factor(age, half_life_s)
        out[project] = out.get(project, 0.0) + hours
    return dict(sorted(out.items()))


def charge_awards(awards: list[tuple[str, int]], used_seconds: int) -> dict[str, int]:
    """Split a project's use of one type over its awards (award id, hours), oldest first.

    Each award is used up before the next; use beyond all of them is charged to the last one
    (its remaining goes negative, which admission prevents for jobs it sees).
    """
    out: dict[str, int] = {}
    left = used_seconds
    for i, (award_id, hours) in enumerate(awards):
        cap = hours * SECONDS_PER_HOUR
        take = left if i == len(awards) - 1 else min(left, cap)
        out[award_id] = take
        left -= take
    return out
