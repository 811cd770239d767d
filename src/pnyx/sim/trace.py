"""Job traces for the simulator: the Philly trace format, time windows, load scaling.

A trace CSV has the columns ``timestamp,duration,num_gpus,gpu_time,cluster`` (the Philly
trace as published by the Pollux and Sia simulators, see ``examples/traces/README.md``):
``timestamp`` is the submit time (``YYYY-MM-DD HH:MM:SS``, rows in any order), ``duration``
the run time in seconds, ``num_gpus`` the accelerators, ``cluster`` the virtual cluster, which
the simulator treats as one member. A ``.gz`` file is read through gzip.

A :class:`Workload` is what one simulation replays: the jobs submitted in a window ``[start,
end)``, with times in seconds from the window start, sorted by submission. ``scale_load``
rescales its offered load (accelerator-seconds demanded / (capacity x window)) by replicating
jobs with seeded random time shifts inside the window (and thinning for a lower load).
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from pnyx.errors import InvalidInputError
from pnyx.sched.facility import FloatArray, IntArray

COLUMNS = ("timestamp", "duration", "num_gpus", "gpu_time", "cluster")
DAY_S = 86_400.0


@dataclass(frozen=True)
class Trace:
    """All jobs of a trace, sorted by submission; times in seconds since 1970 (trace clock)."""

    submit_s: FloatArray
    runtime_s: FloatArray
    accelerators: IntArray
    member: IntArray
    """Index into ``members``."""
    members: tuple[str, ...]


@dataclass(frozen=True)
class Workload:
    """The jobs of one simulation: times in seconds from the window start, sorted by submit."""

    submit_s: FloatArray
    runtime_s: FloatArray
    accelerators: IntArray
    member: IntArray
    members: tuple[str, ...]
    window_s: float
    start: datetime

    @property
    def jobs(self) -> int:
        """How many jobs."""
        return int(self.submit_s.size)

    def offered_load(self, capacity: int) -> float:
        """Accelerator-seconds demanded / (capacity x window length)."""
        demand = float(np.sum(self.runtime_s * self.accelerators))
        return demand / (capacity * self.window_s)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8", newline="")


def load_trace(path: Path) -> Trace:
    """Read a Philly-format CSV (or ``.csv.gz``) into sorted arrays."""
    try:
        with _open_text(path) as f:
            return parse_trace(csv.reader(f))
    except OSError as e:
        raise InvalidInputError(f"trace {path}: {e.strerror or e}") from e


def parse_trace(rows: object) -> Trace:
    """Parse CSV rows (the header first); blank lines are skipped."""
    it = iter(rows)  # type: ignore[call-overload]
    header = tuple(next(it, ()))
    if header[: len(COLUMNS)] != COLUMNS:
        raise InvalidInputError(f"trace: expected the columns {','.join(COLUMNS)}, got {header}")
    stamps, duration, gpus, cluster = [], [], [], []
    for line, row in enumerate(it, start=2):
        if not row:
            continue
        if len(row) < len(COLUMNS):
            raise InvalidInputError(f"trace line {line}: expected 5 fields, got {len(row)}")
        stamps.append(row[0].replace(" ", "T"))
        duration.append(row[1])
        gpus.append(row[2])
        cluster.append(row[4])
    if not stamps:
        raise InvalidInputError("trace: no jobs")
    return _build(stamps, duration, gpus, cluster)


def _build(stamps: list[str], duration: list[str], gpus: list[str], cluster: list[str]) -> Trace:
    try:
        submit = np.array(stamps, dtype="datetime64[s]").astype(np.int64).astype(np.float64)
        runtime = np.array(duration, dtype=np.float64)
        accel = np.array(gpus, dtype=np.float64).astype(np.int64)
    except ValueError as e:
        raise InvalidInputError(f"trace: unreadable value ({e})") from e
    if runtime.min() < 0 or accel.min() < 1:
        raise InvalidInputError("trace: durations must be >= 0 and num_gpus >= 1")
    members, member = np.unique(np.array(cluster), return_inverse=True)
    order = np.lexsort((np.arange(submit.size), submit))
    return Trace(
        submit_s=submit[order],
        runtime_s=np.maximum(runtime[order], 1.0),
        accelerators=accel[order],
        member=member.astype(np.int64)[order],
        members=tuple(str(m) for m in members),
    )


def _epoch_s(when: datetime) -> float:
    return (when.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()


def select_window(trace: Trace, start: datetime | None, end: datetime | None) -> Workload:
    """The jobs submitted in ``[start, end)``; defaults: the trace's first day to its last.

    Only members with jobs in the window are kept (renumbered in name order).
    """
    first = datetime(1970, 1, 1) + timedelta(seconds=float(trace.submit_s[0]))
    last = datetime(1970, 1, 1) + timedelta(seconds=float(trace.submit_s[-1]))
    start = start or first.replace(hour=0, minute=0, second=0)
    end = end or last.replace(hour=0, minute=0, second=0) + timedelta(days=1)
    a, b = _epoch_s(start), _epoch_s(end)
    if not b > a:
        raise InvalidInputError(f"window: end {end} must be after start {start}")
    lo, hi = np.searchsorted(trace.submit_s, [a, b])
    if hi <= lo:
        raise InvalidInputError(f"window [{start}, {end}) holds no jobs")
    used, member = np.unique(trace.member[lo:hi], return_inverse=True)
    return Workload(
        submit_s=trace.submit_s[lo:hi] - a,
        runtime_s=trace.runtime_s[lo:hi],
        accelerators=trace.accelerators[lo:hi],
        member=member.astype(np.int64),
        members=tuple(trace.members[i] for i in used.tolist()),
        window_s=b - a,
        start=start.replace(tzinfo=None),
    )


def scale_load(work: Workload, load: float, capacity: int, seed: int) -> Workload:
    """``work`` with its offered load on ``capacity`` accelerators brought to ``load``.

    Whole copies of the window's jobs are added (the first is the original, later ones shifted
    by a random offset, wrapped into the window), then a seeded random selection of jobs whose
    demand makes up the remainder (shifted too when there is at least one whole copy; for a
    load below the recorded one, a random subset of the original jobs). The load reached is
    close to the target (see :func:`_fill`).
    """
    if not load > 0:
        raise InvalidInputError(f"--load must be > 0, got {load}")
    rng = np.random.default_rng(seed)
    demand = work.runtime_s * work.accelerators
    target = load * capacity * work.window_s
    copies = int(target // demand.sum())
    parts = [np.arange(work.jobs)] * copies
    shifts = [0.0] + [float(x) for x in rng.uniform(0, work.window_s, max(0, copies - 1))]
    rest = target - copies * demand.sum()
    take = _fill(demand, rng.permutation(work.jobs), rest)
    pick = np.concatenate([*parts, take]).astype(np.int64)
    extra = float(rng.uniform(0, work.window_s)) if copies else 0.0
    shift = np.concatenate(
        [np.full(work.jobs, s) for s in shifts[:copies]] + [np.full(take.size, extra)]
    )
    submit = np.mod(work.submit_s[pick] + shift, work.window_s)
    order2 = np.lexsort((np.arange(pick.size), submit))
    return Workload(
        submit_s=submit[order2],
        runtime_s=work.runtime_s[pick][order2],
        accelerators=work.accelerators[pick][order2],
        member=work.member[pick][order2],
        members=work.members,
        window_s=work.window_s,
        start=work.start,
    )


def _fill(demand: FloatArray, order: IntArray, rest: float) -> IntArray:
    """Jobs taken in ``order`` while they fit under ``rest``, plus the one left out (if any)
    that brings the total closest to ``rest``."""
    chosen, left, total = [], [], 0.0
    for j, d in zip(order.tolist(), demand[order].tolist(), strict=True):
        if total + d <= rest:
            chosen.append(j)
            total += d
        else:
            left.append(j)
    if left:
        best = min(left, key=lambda j: abs(total + float(demand[j]) - rest))
        if abs(total + float(demand[best]) - rest) < rest - total:
            chosen.append(best)
    return np.sort(np.asarray(chosen, dtype=np.int64))
