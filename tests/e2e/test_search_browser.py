"""The "Search the training data" page in Chromium, over a live `pnyx up` with an indexed
dataset added and indexed through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from live import live_server, pnyx
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

DOCS = {
    "fox.txt": "The quick brown fox jumps over the lazy dog. A fox again.",
    "other.txt": "Nothing about animals here, only text about text.",
    "third.txt": "One more fox, at the end: fox",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("search")
    data, corpus, log = work / "data", work / "corpus", work / "server.log"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    pnyx("data", "add", "animals", str(corpus), "--modality", "text", "--license", "CC0-1.0",
         "--source", "test corpus", "--data", str(data))  # fmt: skip
    pnyx("data", "index", "animals", "--data", str(data))
    with live_server(data, log) as base:
        yield base


def test_search_counts_and_shows_hits(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search data").click()
    page.wait_for_url("**/search")
    assert page.get_by_label("Dataset version").input_value() == "animals@1"
    page.get_by_label("Exact text").fill("fox")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?*q=fox*")
    assert page.locator("#search-count").inner_text() == "4"
    hits = page.locator("#search-hits li.hit")
    assert hits.count() == 4
    assert [m.inner_text() for m in page.locator("#search-hits mark").all()] == ["fox"] * 4
    assert "fox.txt" in hits.first.locator(".hit-doc").inner_text()
    assert "quick brown" in hits.first.locator(".hit-snippet").inner_text()


def test_absent_text_and_bad_input(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/search?dataset=animals&q=lazy+cat")
    assert page.locator("#search-count").inner_text() == "0"
    assert page.locator("#search-none").is_visible()
    page.goto(server + "/search?dataset=nothing-here&q=fox")
    assert "unknown dataset" in page.locator("#search-error").inner_text()
    page.goto(server + "/search?dataset=animals&q=")
    assert "empty" in page.locator("#search-error").inner_text()


def test_cli_counts_through_the_server(server: str) -> None:
    cmd = [sys.executable, "-m", "pnyx.cli", "data", "count", "animals", "fox", "--url", server]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 4
