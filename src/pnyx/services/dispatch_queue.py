"""The queue as the dispatcher sees it, grouped for the portal (public).

- **waiting** (queued and requeued jobs) by member and by the accelerator type each job
  prefers (the first of its acceptable types): jobs, accelerators asked for, and the oldest
  submission;
- **held** (placed, starting, running, completing) by site, cluster and accelerator type;
- each queued job's **pending reason**, as the dispatcher last said it (table ``job_pending``).

A job's member is its award's (the fair-share tree's); a cluster's site is the inventory's
(``-`` for a cluster the inventory does not declare).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from pnyx.domain.jobs import JobState
from pnyx.services import inventory
from pnyx.services.context import ServiceContext
from pnyx.store import dispatch_repo, jobs_repo

S = JobState
WAITING = (S.QUEUED.value, S.REQUEUED.value)
HELD = (S.PLACED.value, S.STARTING.value, S.RUNNING.value, S.COMPLETING.value)


class QueueGroup(BaseModel):
    """Jobs of one group: how many, their accelerators, the oldest submission."""

    model_config = ConfigDict(frozen=True)
    key: tuple[str, ...]
    """(member, type) for waiting jobs; (site, cluster, type) for held ones."""
    jobs: int
    accelerators: int
    oldest_submitted_at: str


class QueueView(BaseModel):
    """The queue by member and type, what runs by site, cluster and type, and why jobs wait."""

    model_config = ConfigDict(frozen=True)
    waiting: list[QueueGroup]
    held: list[QueueGroup]
    pending_reasons: dict[str, str]
    """queued job -> why it waits (jobs the dispatcher has not considered yet are absent)."""


def queue_view(ctx: ServiceContext) -> QueueView:
    """The grouped queue (see the module docstring)."""
    with ctx.db.read() as conn:
        rows = jobs_repo.job_rows(conn, (*WAITING, *HELD))
        owners = dispatch_repo.award_owners(conn)
        reasons = dispatch_repo.pending_reasons(conn)
    site_of = {
        c.cluster_id: site.site_id
        for site in inventory.facility_summary(ctx).sites
        for c in site.clusters
    }
    waiting = _groups(
        ((owners.get(r["award_id"], ("-", ""))[0] or "-", _first(r)), r)
        for r in rows
        if r["state"] in WAITING
    )
    held = _groups(
        (
            (
                site_of.get(r["cluster"] or "", "-"),
                r["cluster"] or "-",
                r["accelerator_type"] or "-",
            ),
            r,
        )
        for r in rows
        if r["state"] in HELD
    )
    queued = {r["job_id"] for r in rows if r["state"] == S.QUEUED.value}
    return QueueView(
        waiting=waiting,
        held=held,
        pending_reasons={k: v for k, v in sorted(reasons.items()) if k in queued},
    )


def _first(row: dict[str, Any]) -> str:
    types = list(row["accelerator_types"] or [])
    return str(types[0]) if types else "-"


def _groups(items: Iterable[tuple[tuple[str, ...], dict[str, Any]]]) -> list[QueueGroup]:
    acc: dict[tuple[str, ...], list[Any]] = {}
    for key, row in items:
        size = int(row["nodes"]) * int(row["accelerators_per_node"])
        group = acc.setdefault(key, [0, 0, row["submitted_at"]])
        group[0] += 1
        group[1] += size
        group[2] = min(group[2], row["submitted_at"])
    return [
        QueueGroup(key=k, jobs=v[0], accelerators=v[1], oldest_submitted_at=v[2])
        for k, v in sorted(acc.items())
    ]
