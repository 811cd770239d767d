"""Portal pages of allocation: calls with scores, awards with statements."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor
from pnyx.services import identity
from pnyx.services.context import ServiceContext
from pnyx.services.demo_allocation import CALL_ID, run_allocation_demo
from pnyx.settings import Settings


@pytest.fixture
def client(ctx: ServiceContext) -> TestClient:
    return TestClient(create_app(Settings(), ctx=ctx))


def test_empty_pages_say_so(client: TestClient) -> None:
    assert "No calls yet" in client.get("/calls").text
    assert "No awards yet" in client.get("/awards").text
    assert client.get("/calls/nope", headers={"accept": "text/html"}).status_code == 404


def test_pages_show_scores_and_awards(client: TestClient, ctx: ServiceContext) -> None:
    for m in ("de", "fr", "it", "es", "pl"):
        identity.admit_member(ctx, Actor.system(), m, m.upper())
    summary = run_allocation_demo(ctx)
    listing = client.get("/calls").text
    assert f'href="/calls/{CALL_ID}"' in listing and 'href="/awards"' in listing
    page = client.get(f"/calls/{CALL_ID}").text
    assert page.count("data-proposal=") == 12
    assert "below-threshold" in page and "partial" in page
    first_mean = max(v.split("mean ")[1].rstrip(")") for v in summary["outcomes"].values())
    assert f'<td class="mean">{first_mean}</td>' in page
    awards = client.get("/awards").text
    assert awards.count("data-award=") == len(summary["awards"])
    assert "Statements per programme" in awards
    assert '<th scope="row">DE</th>' in awards  # the member statement, by display name
