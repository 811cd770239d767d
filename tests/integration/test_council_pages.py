"""The Council's portal pages: resolutions, tallies, signed ballots with checks, recount."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from council_setup import build_council
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.services.context import ServiceContext
from pnyx.services.demo_council import run_council_demo
from pnyx.settings import Settings

HTML = {"accept": "text/html"}


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


def test_council_page_lists_resolutions_and_enacted_shares(
    client: TestClient, ctx: ServiceContext
) -> None:
    run_council_demo(ctx)
    page = client.get("/council", headers=HTML)
    assert page.status_code == 200
    assert 'href="/council" aria-current="page"' in page.text
    assert 'data-resolution="res-0001"' in page.text and 'data-resolution="res-0002"' in page.text
    assert "35.0 %" in page.text  # open-models, enacted by res-0001


def test_resolution_page_shows_ballots_checks_and_recount(
    client: TestClient, ctx: ServiceContext
) -> None:
    run_council_demo(ctx)
    page = client.get("/council/res-0002", headers=HTML).text
    assert page.count('class="signature">valid<') == 9
    assert "deemed met" not in page and "majority:weight:population" in page
    recount = client.get("/council/res-0002?recounted=true", headers=HTML).text
    assert "matches the recorded tally (9 ballots)" in recount


def test_open_resolution_shows_live_tally(client: TestClient, ctx: ServiceContext) -> None:
    c = build_council(ctx)
    rid = c.propose().resolution_id
    c.vote(rid, "de", "yes")
    page = client.get(f"/council/{rid}", headers=HTML).text
    assert "Live tally" in page
    assert "1 yes, 0 no, 0 abstain, 4 absent of 5" in page
    assert client.get("/council/res-9999", headers=HTML).status_code == 404
