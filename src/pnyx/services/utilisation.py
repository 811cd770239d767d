"""Utilisation now: accelerators held by jobs by site, type and member, against the inventory.

A job **holds** ``nodes x accelerators_per_node`` accelerators of its placed type on its
cluster (hence its site) while placed, starting, running or completing; it **waits** while
queued or requeued. A job's member is the member of its award. Reads only (public).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pnyx.services import inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.jobs_dto import JobView
from pnyx.services.share_dto import UtilisationView
from pnyx.store import allocation_repo as repo

HOLDING = ("placed", "starting", "running", "completing")
WAITING = ("queued", "requeued")


def utilisation_now(ctx: ServiceContext) -> UtilisationView:
    """What the facility's jobs hold and wait for now."""
    summary = inventory.facility_summary(ctx)
    capacity = {s.site_id: dict(sorted(s.by_type.items())) for s in summary.sites}
    site_of = {c.cluster_id: s.site_id for s in summary.sites for c in s.clusters}
    with ctx.db.read() as conn:
        owner = {a["award_id"]: a["member_id"] for a in repo.award_rows(conn)}
    views = jobs.list_jobs(ctx, [*HOLDING, *WAITING])
    return tally(views, site_of, owner, capacity)


def tally(
    views: Iterable[JobView],
    site_of: Mapping[str, str],
    owner: Mapping[str, str],
    capacity: dict[str, dict[str, int]],
) -> UtilisationView:
    """Add up ``views`` (pure): held accelerators by site/type and member/type, waiting ones
    by member. A cluster missing from the inventory counts under its own id."""
    by_site: dict[str, dict[str, int]] = {}
    by_member: dict[str, dict[str, int]] = {}
    queued: dict[str, int] = {}
    running = waiting = 0
    for v in views:
        size = v.nodes * v.accelerators_per_node
        member = owner.get(v.award_id, "?")
        if v.state in HOLDING and v.cluster and v.accelerator_type:
            running += 1
            site = site_of.get(v.cluster, v.cluster)
            _add(by_site.setdefault(site, {}), v.accelerator_type, size)
            _add(by_member.setdefault(member, {}), v.accelerator_type, size)
        elif v.state in WAITING:
            waiting += 1
            queued[member] = queued.get(member, 0) + size
    return UtilisationView(
        capacity_by_site=capacity,
        in_use_by_site=_sorted(by_site),
        in_use_by_member=_sorted(by_member),
        queued_by_member=dict(sorted(queued.items())),
        running_jobs=running,
        queued_jobs=waiting,
    )


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _sorted(nested: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {k: dict(sorted(v.items())) for k, v in sorted(nested.items())}
