"""The projects' decayed usage for the dispatcher's Fair-Tree order, kept between passes.

:func:`pnyx.services.accounting.decayed_usage` (project -> accelerator-hours, each usage record
decayed by its end's age with the half-life) reads every usage record of the store; the
dispatcher needs it on every pass (the broker's order of the queued jobs, and the core's
Fair-Tree usage when it does not judge by entitlement). :class:`UsageBook` gives the same sums
at a pass's cost bounded by what was recorded since the previous pass: seeded once from every
record (a restart), then each pass decays the sums to now (one factor) and adds the records of
the log's seq range since the last pass (:func:`pnyx.store.dispatch_repo.usage_events_after`).

A record that ends after the book's time counts fully until it has ended (as in
:func:`pnyx.domain.accounting.decay_factor`): it waits in ``future`` until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pnyx.domain.accounting import SECONDS_PER_HOUR
from pnyx.services.context import ServiceContext
from pnyx.store import dispatch_repo


@dataclass
class UsageBook:
    """project -> decayed accelerator-hours at ``at_s`` of the records that ended by then,
    and the records that end later; ``seq``: the newest event folded in (-1: not seeded)."""

    half_life_s: float
    at_s: float = 0.0
    seq: int = -1
    hours: dict[str, float] = field(default_factory=dict)
    future: list[tuple[str, float, float]] = field(default_factory=list)  # project, h, end

    def usage(self, ctx: ServiceContext, now: datetime) -> dict[str, float]:
        """The decayed usage at ``now`` (what ``accounting.decayed_usage`` returns), reading
        only the usage records recorded since the last call."""
        now_s = now.timestamp()
        if now_s < self.at_s:  # the clock went back: start again
            self.seq, self.hours, self.future = -1, {}, []
        with ctx.db.read() as conn:
            head = dispatch_repo.log_head(conn)
            if self.seq < 0:
                new = [
                    (r["project_id"], r["accel_seconds"], r["end_at"])
                    for r in dispatch_repo.usage_upto(conn, head)
                ]
                self.at_s = now_s
            elif head > self.seq:
                bodies = dispatch_repo.usage_events_after(conn, self.seq, head)
                new = [(b["project_id"], b["accel_seconds"], b["end"]) for b in bodies]
            else:
                new = []
        self.seq = head
        self._decay_to(now_s)
        self._add(((p, int(s) / SECONDS_PER_HOUR, _posix(e)) for p, s, e in new), now_s)
        out = dict(self.hours)
        for project, hours, _ in self.future:
            out[project] = out.get(project, 0.0) + hours
        return dict(sorted(out.items()))

    def _decay_to(self, now_s: float) -> None:
        if now_s > self.at_s:
            factor = 0.5 ** ((now_s - self.at_s) / self.half_life_s)
            for k in self.hours:
                self.hours[k] *= factor
            self.at_s = now_s
        ended = [f for f in self.future if f[2] <= now_s]
        if ended:
            self.future = [f for f in self.future if f[2] > now_s]
            self._add(ended, now_s)

    def _add(self, records: Iterable[tuple[str, float, float]], now_s: float) -> None:
        for project, hours, end_s in records:
            if end_s > now_s:
                self.future.append((project, hours, end_s))
                continue
            amount = hours * 0.5 ** ((now_s - end_s) / self.half_life_s)
            self.hours[project] = self.hours.get(project, 0.0) + amount


@lru_cache(maxsize=65_536)
def _posix(instant: str) -> float:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()
