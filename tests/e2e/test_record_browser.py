"""The Record page in a real browser: a live `pnyx up` over a log written through the CLI.

The browser recomputes the leaf hash and folds the inclusion proof with WebCrypto; the
negative cases tamper with the API's answers on the way in and must be caught.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from live import live_server, pnyx
from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser

RESULT = "#browser-result"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("record")
    data, log = work / "data", work / "server.log"
    for member_id, name in {"de": "Germany", "fr": "France", "it": "Italy"}.items():
        pnyx("member", "admit", member_id, "--name", name, "--data", str(data))
    pnyx("ledger", "checkpoint", "--data", str(data))
    with live_server(data, log) as base:
        yield base


def open_entry(browser: Browser, server: str, index: int) -> Page:
    page = browser.new_page()
    page.goto(f"{server}/record?entry={index}")
    assert page.locator("#checkpoint-size").inner_text() == "3"
    assert "Proof verified" in page.locator("#server-check").inner_text()
    return page


def click_check(page: Page) -> str:
    page.get_by_role("button", name="Check in my browser").click()
    page.wait_for_function(
        "['ok', 'fail'].includes(document.querySelector('#browser-result').dataset.result)"
    )
    return page.locator(RESULT).inner_text()


def test_nav_leads_to_the_record_page(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Record").click()
    page.wait_for_url("**/record")
    assert page.locator("#checkpoint-size").inner_text() == "3"
    page.get_by_label("Entry number (from 0)").fill("2")
    page.get_by_role("button", name="Show entry and proof").click()
    page.wait_for_url("**/record?entry=2*")
    assert page.locator("#entry-heading").inner_text() == "Entry 2"


@pytest.mark.parametrize("index", [0, 1, 2])
def test_entry_verifies_in_the_browser(browser: Browser, server: str, index: int) -> None:
    page = open_entry(browser, server, index)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/v1/log/" in r.url else None)
    message = click_check(page)
    assert "verified in your browser" in message, message
    assert page.locator(RESULT).get_attribute("data-result") == "ok"
    assert page.locator("#checkpoint-root").inner_text() in message
    assert any("/api/v1/log/entries?" in u for u in api_calls), api_calls
    assert any("/api/v1/log/proof/inclusion?" in u for u in api_calls), api_calls


def test_a_flipped_proof_hash_is_a_mismatch(browser: Browser, server: str) -> None:
    page = open_entry(browser, server, 1)
    hits: list[str] = []

    def flip(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        raw = bytearray(base64.b64decode(body["proof"][0]))
        raw[0] ^= 0x01
        body["proof"][0] = base64.b64encode(bytes(raw)).decode()
        hits.append(route.request.url)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/v1/log/proof/inclusion*", flip)
    message = click_check(page)
    assert hits, "the proof request was not intercepted"
    assert "mismatch" in message, message
    assert "verified in your browser" not in message
    assert page.locator(RESULT).get_attribute("data-result") == "fail"


def test_an_altered_entry_text_is_a_mismatch(browser: Browser, server: str) -> None:
    page = open_entry(browser, server, 2)
    hits: list[str] = []

    def alter(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["entries"][0] = body["entries"][0].replace("Italy", "Itaiy")
        hits.append(body["entries"][0])
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/v1/log/entries*", alter)
    message = click_check(page)
    assert hits and "Itaiy" in hits[0], hits
    assert "mismatch" in message, message
    assert page.locator(RESULT).get_attribute("data-result") == "fail"


def test_the_page_reads_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/record?entry=1")
    assert "Proof verified" in page.locator("#server-check").inner_text()
    assert page.locator("#proof-hashes li").count() == 2
    assert not page.get_by_role("button", name="Check in my browser").is_visible()
    context.close()
