"""The /utilisation page: accelerators held by jobs by site, type and member vs the inventory."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from jobs_setup import OPERATOR, build_world, request

from pnyx.api.app import create_app
from pnyx.services import inventory, jobs
from pnyx.services.context import ServiceContext
from pnyx.services.utilisation import utilisation_now
from pnyx.settings import Settings


def test_held_and_waiting_accelerators_add_up(ctx: ServiceContext) -> None:
    world = build_world(ctx)
    running = jobs.submit_job(ctx, world.alice, request(world, nodes=2))
    jobs.place_job(ctx, OPERATOR, running.job_id, "lab-gpu", "h100", "test")
    jobs.transition_job(ctx, OPERATOR, running.job_id, "starting", "test")
    jobs.transition_job(ctx, OPERATOR, running.job_id, "running", "test")
    placed = jobs.submit_job(ctx, world.alice, request(world))
    jobs.place_job(ctx, OPERATOR, placed.job_id, "lab-gpu", "h100", "test")
    jobs.submit_job(ctx, world.alice, request(world, accelerators_per_node=4))  # waits
    done = jobs.submit_job(ctx, world.alice, request(world))
    jobs.cancel_job(ctx, OPERATOR, done.job_id, "not needed")
    view = utilisation_now(ctx)
    site = next(
        s for s in inventory.facility_summary(ctx).sites
        if any(c.cluster_id == "lab-gpu" for c in s.clusters)
    )  # fmt: skip
    lab_gpu_site = site.site_id
    assert view.in_use_by_site == {lab_gpu_site: {"h100": 16 + 8}}
    assert view.in_use_by_member == {"de": {"h100": 24}}
    assert view.queued_by_member == {"de": 4}
    assert (view.running_jobs, view.queued_jobs) == (2, 1)
    assert view.capacity_by_site[site.site_id] == site.by_type
    page = TestClient(create_app(Settings(), ctx=ctx)).get("/utilisation").text
    assert f'<tr data-site="{lab_gpu_site}" data-type="h100">' in page
    assert '<td class="held">24</td>' in page
    compact = re.sub(r">\s+<", "><", page)
    assert '<td class="held">h100: 24</td><td class="waiting">4</td>' in compact
    assert 'href="/utilisation" aria-current="page"' in page
