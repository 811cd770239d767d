"""The Datasets pages in Chromium over a live `pnyx up`: a dataset added and opted out of
through the real CLI, then the list, a version's shards and its removals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from live import live_server, pnyx
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

DOCS = {
    "keep.txt": "A document that stays in every version.",
    "opt-out.txt": "A document whose author asked for it to be removed.",
}
REMOVED = hashlib.sha256(DOCS["opt-out.txt"].encode()).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("datasets")
    data, corpus, log = work / "data", work / "corpus", work / "server.log"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    pnyx("data", "add", "letters", str(corpus), "--modality", "text", "--license", "CC0-1.0",
         "--source", "https://example.org/letters/", "--data", str(data))  # fmt: skip
    pnyx("data", "remove", "letters", "--record-hash", REMOVED, "--reason", "author's request",
         "--data", str(data))  # fmt: skip
    with live_server(data, log) as base:
        yield base


def test_list_version_shards_and_removals(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.wait_for_url("**/datasets")
    row = page.locator("#datasets tr[data-dataset=letters]")
    assert "CC0-1.0" in row.inner_text()
    row.get_by_role("link", name="letters").click()
    page.wait_for_url("**/datasets/letters/2")
    assert page.locator("h1").inner_text() == "letters, version 2"
    assert page.locator("#shards tbody tr").count() == 1
    removals = page.locator("#removals").inner_text()
    assert REMOVED in removals and "author's request" in removals
    assert DOCS["opt-out.txt"] not in page.content()
    page.get_by_role("navigation", name="Versions").get_by_role("link", name="1").click()
    page.wait_for_url("**/datasets/letters/1")
    assert "No records removed" in page.locator("main").inner_text()
