"""Per member and day: delivered share (from usage records) against enacted share (Council).

- **Delivered**: each usage record's accelerator-seconds are spread evenly over its
  ``[start, end)`` and cut at UTC midnights (a record inside one day counts whole on that
  day); a record belongs to the member of its project (the member of the project's oldest
  award). A member's delivered share on a day = its accelerator-hours / everyone's.
- **Enacted**: the member's share of the facility
  (:func:`pnyx.services.share_history.member_targets` over every admitted member) in force
  at each moment, averaged over the day (a resolution enacted at noon counts half a day).
- Days run from the first to the last day with usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from pnyx.domain.allocation import parse_instant
from pnyx.errors import NotFoundError
from pnyx.services import identity
from pnyx.services import share_history as sh
from pnyx.services.context import ServiceContext
from pnyx.services.share_dto import MemberShareHistory, ShareDay
from pnyx.store import allocation_repo as repo

DAY = timedelta(days=1)
Record = tuple[str, int, datetime, datetime]
"""(member, accelerator-seconds, start, end)."""


def spread_by_day(records: Iterable[Record]) -> dict[tuple[str, date], float]:
    """(member, UTC day) -> accelerator-seconds, each record spread evenly over its span."""
    out: dict[tuple[str, date], float] = {}
    for member, seconds, start, end in records:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            key = (member, start.date())
            out[key] = out.get(key, 0.0) + seconds
            continue
        span = (end - start).total_seconds()
        day = start.date()
        while _midnight(day) < end:
            lo, hi = max(start, _midnight(day)), min(end, _midnight(day) + DAY)
            if hi > lo:
                key = (member, day)
                out[key] = out.get(key, 0.0) + seconds * (hi - lo).total_seconds() / span
            day += DAY
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def enacted_by_day(
    history: Sequence[sh.Enactment], members: Sequence[str], days: Sequence[date]
) -> dict[date, dict[str, float]]:
    """Each member's share of the facility, time-averaged over each of ``days``."""
    out: dict[date, dict[str, float]] = {}
    for day in days:
        lo, hi = _midnight(day), _midnight(day) + DAY
        cuts = [lo, *sorted(e.at for e in history if lo < e.at < hi), hi]
        acc = dict.fromkeys(members, 0.0)
        for a, b in pairwise(cuts):
            state = sh.state_at(history, a)
            targets = sh.member_targets(state.programmes, state.members, members)
            weight = (b - a) / DAY
            for m in members:
                acc[m] += weight * targets[m]
        out[day] = acc
    return out


def share_history_of(ctx: ServiceContext, member_id: str) -> MemberShareHistory:
    """``member_id``'s delivered vs enacted share per day (public; see the module doc)."""
    if member_id not in {m.member_id for m in identity.list_members(ctx, 0, 500).items}:
        raise NotFoundError(f"unknown member {member_id!r}")
    return all_share_histories(ctx, [member_id])[0]


def all_share_histories(
    ctx: ServiceContext, member_ids: Sequence[str] | None = None
) -> list[MemberShareHistory]:
    """Delivered vs enacted share per day for ``member_ids`` (default: every member)."""
    members = sorted(m.member_id for m in identity.list_members(ctx, 0, 500).items)
    with ctx.db.read() as conn:
        owner: dict[str, str] = {}
        for award in repo.award_rows(conn):
            owner.setdefault(award["project_id"], award["member_id"])
        usage = repo.usage_rows(conn)
    records = [
        (
            owner.get(u["project_id"], ""),
            int(u["accel_seconds"]),
            parse_instant(u["start_at"], "usage start"),
            parse_instant(u["end_at"], "usage end"),
        )
        for u in usage
    ]
    delivered = spread_by_day(records)
    days = _days({d for _, d in delivered})
    enacted = enacted_by_day(sh.enactments(ctx), members, days) if members else {}
    totals: dict[date, float] = {}
    for (_, day), seconds in delivered.items():
        totals[day] = totals.get(day, 0.0) + seconds
    wanted = members if member_ids is None else list(member_ids)
    return [
        MemberShareHistory(
            member_id=m,
            days=[
                ShareDay(
                    day=day.isoformat(),
                    delivered_accel_hours=delivered.get((m, day), 0.0) / 3600,
                    total_accel_hours=totals.get(day, 0.0) / 3600,
                    delivered_share=(
                        delivered.get((m, day), 0.0) / totals[day]
                        if totals.get(day, 0.0) > 0
                        else None
                    ),
                    enacted_share=enacted.get(day, {}).get(m, 0.0),
                )
                for day in days
            ],
        )
        for m in wanted
    ]


def _days(seen: set[date]) -> list[date]:
    if not seen:
        return []
    first, last = min(seen), max(seen)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
