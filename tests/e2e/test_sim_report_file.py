"""In a real browser, from the file alone: the standalone report.html of `pnyx sim run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live import pnyx
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
ROOT = Path(__file__).parents[2]


def test_report_html_opens_without_a_server(browser: Browser, tmp_path: Path) -> None:
    report = tmp_path / "one-day"
    pnyx(
        "sim", "run", "--trace", str(ROOT / "examples" / "traces" / "philly.csv"),
        "--accelerators", "128", "--policy", "pnyx", "--start", "2017-11-14",
        "--end", "2017-11-15", "--report-out", str(report), "--json",
    )  # fmt: skip
    metrics = json.loads((report / "report.json").read_text())["metrics"]
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto((report / "report.html").as_uri())
    assert page.locator("h2#report").inner_text() == "Report one-day"
    assert page.locator("#utilisation").inner_text() == f"{100 * metrics['utilisation']:.2f} %"
    assert page.locator("#fragmentation").is_visible() and page.locator("#one-pod").is_visible()
    assert page.locator("svg.chart").count() == 5
    assert page.locator("#members tbody tr").count() == len(metrics["members"])
    assert failed == []  # nothing fetched: styles and plots are inline
    page.close()
