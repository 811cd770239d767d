"""The Jobs pages in a real browser over a real `pnyx up`: recent jobs and a job's history; the
private environment never reaches the page. Every job has ended before the server starts, so
its dispatcher has nothing to change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from live import live_server
from playwright.sync_api import Browser
from tests.conftest import FakeClock
from tests.integration.jobs_setup import OPERATOR, build_world, request

from pnyx.services import jobs as svc
from pnyx.services.context import utc_now
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store.db import url_for_data_dir

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("jobs")
    data = work / "data"
    ctx = build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))
    ctx.clock = FakeClock()
    today = utc_now().date()
    period = ((today - timedelta(days=30)).isoformat(), (today + timedelta(days=300)).isoformat())
    world = build_world(ctx, period)
    ctx.clock = utc_now  # jobs are admitted today, inside the award's period
    first = svc.submit_job(ctx, world.alice, request(world, name="pretrain"))
    svc.place_job(ctx, OPERATOR, first.job_id, "lab-gpu", "h100", "free h100 on lab-gpu")
    svc.transition_job(ctx, OPERATOR, first.job_id, "running", "engine: running")
    svc.transition_job(ctx, OPERATOR, first.job_id, "succeeded", "exit 0", exit_code=0)
    second = svc.submit_job(ctx, world.alice, request(world, name="eval", time_limit_s=60))
    svc.cancel_job(ctx, world.alice, second.job_id, "superseded")
    ctx.db.dispose()
    with live_server(data, Path(work / "server.log")) as base:
        yield base


def test_queue_recent_and_history(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    page.wait_for_url("**/jobs")
    assert page.locator("#queue-empty").is_visible()
    recent = page.locator("#recent tbody tr")  # newest first
    assert recent.locator("td.state").all_inner_texts() == ["cancelled", "succeeded"]
    recent.nth(1).get_by_role("link").click()
    page.wait_for_url("**/jobs/j-000001")
    assert page.locator("#state").inner_text() == "succeeded"
    assert page.locator("#exit-code").inner_text() == "0"
    states = page.locator("#history tbody th").all_inner_texts()
    assert states == ["queued", "placed", "running", "succeeded"]
    assert "free h100 on lab-gpu" in page.locator("#history").inner_text()
    assert "secret-value" not in page.content()
    page.close()
