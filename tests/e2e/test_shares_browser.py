"""In a real browser over a live `pnyx up`: a resolution's simulated what-if (the button), and
the simulator report page of a run written with `pnyx sim run --report-out`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live import live_server, pnyx
from playwright.sync_api import Browser

from pnyx.services.demo_council import run_council_demo
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store.db import url_for_data_dir

pytestmark = pytest.mark.browser
ROOT = Path(__file__).parents[2]


def test_whatif_button_and_sim_report(browser: Browser, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))
    run_council_demo(ctx)
    ctx.db.dispose()
    report = data / "sim-reports" / "one-day"
    pnyx(
        "sim", "run", "--trace", str(ROOT / "examples" / "traces" / "philly.csv"),
        "--accelerators", "128", "--policy", "pnyx", "--start", "2017-11-14",
        "--end", "2017-11-15", "--report-out", str(report), "--json",
    )  # fmt: skip
    metrics = json.loads((report / "report.json").read_text())["metrics"]
    with live_server(data, tmp_path / "server.log") as base:
        page = browser.new_page()
        page.goto(f"{base}/council/res-0003")
        assert page.locator("#whatif-static").is_visible()
        page.get_by_role("button", name="Simulate the effect on delivered shares and waits").click()
        page.locator("#whatif-members").wait_for(timeout=60_000)
        rows = page.locator("#whatif-members tbody tr")
        assert rows.count() == 9  # the demo's members
        germany = page.locator('#whatif-members tr[data-member="de"] th').inner_text()
        assert germany == "Germany"
        assert page.locator("svg[aria-labelledby='whatif-title whatif-desc'] g.pair").count() == 9
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Simulator").click()
        page.wait_for_url(f"{base}/sim")
        assert page.locator('tr[data-report="one-day"]').is_visible()
        shown = page.locator("#utilisation").inner_text()
        assert shown == f"{100 * metrics['utilisation']:.2f} %"
        assert page.locator("#members tbody tr").count() == len(metrics["members"])
        page.close()
