"""The entitlement judge's state, rebuilt from the store: decayed demand, usage and capacity.

``Judge.ENTITLEMENT`` (the simulator's ``pnyx`` policy, :mod:`pnyx.sched.preemption`) compares
each member's *decayed usage* with its weighted max-min share of the *decayed capacity* over
every member's *decayed demand*. The simulator integrates them as it goes; a live dispatcher
restarts, so :class:`EntitlementBook` derives the same integrals from the record, per
fair-share leaf (award, project, submitter):

- **demand** of a job: its accelerators from submission to its final state (queued, placed,
  running and requeued alike), i.e. ``[submitted_at, ended_at]``, or ``[submitted_at, now]``
  while it is active;
- **usage**: each usage record's accelerator-seconds spread evenly over ``[start, end]``, plus
  the current run of every running job (``[started_at, now]`` at its size; its record comes
  when the run ends, and the job is no longer running then);
- **work run outside pnyx** (usage records of no pnyx job, e.g. a Slurm site's own jobs
  brought in by the usage import): it used the member's share of the machine as much as a
  pnyx job would, so it counts as usage *and* demand over ``[start, end]`` (it wanted what it
  got while it ran), on the leaf (the project's oldest award of its type, the project,
  submitter ``""``: :data:`OUTSIDE`);
- **span**: the decayed integral of 1 since the store's first submission (capacity x span is
  the decayed capacity).

A constant rate ``r`` over ``[a, b]`` weighs ``r (e^-L(now-b) - e^-L(now-a)) / L`` at ``now``
(``L = ln 2 / half-life``), exactly what :class:`pnyx.sched.priority.UsageTracker` adds.

**Cost.** The first pass (a restart) reads the jobs and usage records that ended within
``HORIZON_HALF_LIVES`` half-lives (older ones weigh under 0.1 %); every later pass decays the
closed sums to now and adds only what ended since the last pass, read as a range of the log's
primary key (``seq`` > the last one seen), plus the open intervals of the active jobs it
already holds. A restarted dispatcher and one that ran all along agree (to the horizon).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pnyx.domain.jobs import JobState
from pnyx.services.context import ServiceContext, format_time
from pnyx.store import dispatch_repo

HORIZON_HALF_LIVES = 10.0
"""History older than this many half-lives is left out of a fresh rebuild (weight < 0.1 %)."""
Leaf = tuple[str, str, str]
"""(award, project, submitter): the fair-share leaf a job or usage record belongs to."""
USING = frozenset({JobState.RUNNING.value, JobState.COMPLETING.value})
OUTSIDE = ""
"""The submitter of the leaf that work run outside pnyx is booked on (no pnyx user ran it)."""


@dataclass(frozen=True)
class Entitlement:
    """Decayed integrals at one instant, per leaf, in accelerator-seconds (span: seconds)."""

    usage: Mapping[Leaf, float]
    demand: Mapping[Leaf, float]
    span_s: float


@dataclass
class EntitlementBook:
    """The closed part of the integrals (what ended), decayed to ``at_s``; kept between passes
    by the dispatcher, seeded from the store on its first pass."""

    half_life_s: float
    at_s: float = 0.0
    seq: int = -1  # the newest event folded in (-1: not seeded yet)
    first_s: float | None = None  # the store's first submission
    usage: dict[Leaf, float] = field(default_factory=dict)
    demand: dict[Leaf, float] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)  # jobs folded in by the latest refresh

    @property
    def lam(self) -> float:
        """The decay constant, per second."""
        return math.log(2) / self.half_life_s

    def refresh(self, ctx: ServiceContext, now_s: float) -> None:
        """Bring the closed sums to ``now_s``: a seed over the horizon on the first call, then
        only what ended since the last one."""
        with ctx.db.read() as conn:
            head = dispatch_repo.log_head(conn)
            if self.seq < 0:
                cut = format_time(_utc(now_s - HORIZON_HALF_LIVES * self.half_life_s))
                ended = dispatch_repo.ended_since(conn, cut, head)
                used = dispatch_repo.usage_since(conn, cut, head)
                used += [
                    {**r, "outside": True}
                    for r in dispatch_repo.outside_usage_since(conn, cut, head)
                ]
                first = dispatch_repo.first_submission(conn)
                self.first_s = _posix(first) if first else None
            elif head > self.seq:
                ended = dispatch_repo.ended_after_seq(conn, self.seq, head)
                used = dispatch_repo.usage_after_seq(conn, self.seq, head, outside=True)
            else:
                ended, used = [], []
            awards = dispatch_repo.project_awards(conn) if _any_outside(used) else {}
        self._decay_to(now_s)
        self.seq = head
        self.closed = {r["job_id"] for r in ended}
        for r in ended:
            size = float(r["nodes"] * r["accelerators_per_node"])
            start = _posix(r["submitted_at"])
            if self.first_s is None or start < self.first_s:
                self.first_s = start
            add(self.demand, _leaf(r), size * self.weight(start, _posix(r["end_at"]), now_s))
        for r in used:
            start, end = _posix(r["start_at"]), _posix(r["end_at"])
            if end <= start:
                continue
            rate = float(r["accel_seconds"]) / (end - start)
            amount = rate * self.weight(start, end, now_s)
            if not r.get("outside"):
                add(self.usage, _leaf(r), amount)
                continue
            leaf = outside_leaf(r["project_id"], r["accelerator_type"], awards)
            if leaf is None:
                continue  # a project without awards belongs to no member
            add(self.usage, leaf, amount)
            add(self.demand, leaf, amount)
            if self.first_s is None or start < self.first_s:
                self.first_s = start

    def _decay_to(self, now_s: float) -> None:
        if self.seq >= 0 and now_s > self.at_s:
            factor = math.exp(-self.lam * (now_s - self.at_s))
            for sums in (self.usage, self.demand):
                for k in sums:
                    sums[k] *= factor
        self.at_s = max(self.at_s, now_s)

    def weight(self, start_s: float, end_s: float, now_s: float) -> float:
        """The decayed length of ``[start_s, end_s]`` seen at ``now_s`` (seconds)."""
        lam = self.lam
        end_s = min(end_s, now_s)
        if end_s <= start_s:
            return 0.0
        return (math.exp(-lam * (now_s - end_s)) - math.exp(-lam * (now_s - start_s))) / lam

    def at(self, active: Iterable[dict[str, Any]], now_s: float) -> Entitlement:
        """The integrals at ``now_s`` (after :meth:`refresh`): the closed sums plus the open
        intervals of the ``active`` job rows (their demand since submission, the usage of
        their current run)."""
        factor = math.exp(-self.lam * max(0.0, now_s - self.at_s))
        usage = {k: v * factor for k, v in self.usage.items()}
        demand = {k: v * factor for k, v in self.demand.items()}
        first = self.first_s
        for r in active:
            if r["job_id"] in self.closed or r["state"] in dispatch_repo.FINAL_STATES:
                continue
            size = float(int(r["nodes"]) * int(r["accelerators_per_node"]))
            submitted = _posix(r["submitted_at"])
            first = submitted if first is None else min(first, submitted)
            add(demand, _leaf(r), size * self.weight(submitted, now_s, now_s))
            if r["state"] in USING and r.get("started_at"):
                add(usage, _leaf(r), size * self.weight(_posix(r["started_at"]), now_s, now_s))
        span = 0.0 if first is None else self.weight(first, now_s, now_s)
        return Entitlement(usage, demand, span)


def add(sums: dict[Leaf, float], key: Leaf, amount: float) -> None:
    """``sums[key] += amount``."""
    if amount:
        sums[key] = sums.get(key, 0.0) + amount


def outside_leaf(
    project: str, accelerator_type: str, awards: Mapping[str, Sequence[tuple[str, frozenset[str]]]]
) -> Leaf | None:
    """The leaf that work run outside pnyx for ``project`` is booked on: the project's oldest
    award of ``accelerator_type`` (usage charges the oldest first), else its oldest award;
    None for a project without awards."""
    mine = awards.get(project, ())
    if not mine:
        return None
    award = next((a for a, kinds in mine if accelerator_type in kinds), mine[0][0])
    return (award, project, OUTSIDE)


def _any_outside(rows: Iterable[Mapping[str, Any]]) -> bool:
    return any(r.get("outside") for r in rows)


def leaves_of(rows: Sequence[dict[str, Any]]) -> list[Leaf]:
    """The leaf of each job row."""
    return [_leaf(r) for r in rows]


def _leaf(row: Mapping[str, Any]) -> Leaf:
    return (str(row["award_id"]), str(row["project_id"]), str(row["submitter"]))


@lru_cache(maxsize=65_536)
def _posix(instant: str) -> float:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()


def _utc(posix_s: float) -> datetime:
    return datetime.fromtimestamp(max(posix_s, 0.0), UTC)
