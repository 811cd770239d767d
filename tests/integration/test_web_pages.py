"""The public portal's pages over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from pnyx.api.app import create_app
from pnyx.domain.identity import Actor, NewPrincipal, Role
from pnyx.services import events, identity, inventory
from pnyx.services.context import ServiceContext
from pnyx.settings import Settings

SMALL = Path(__file__).parents[2] / "examples" / "facility-small.yaml"
HTML = {"accept": "text/html"}


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), ctx=ctx)) as c:
        yield c


def load_small(ctx: ServiceContext) -> None:
    identity.admit_member(ctx, Actor.system(), "de", "Germany")
    spec = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    inventory.load_facility(ctx, Actor.system(), spec)


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no element with id {element_id}"
    return match.group(1).strip()


def row_counts(html: str, table_id: str) -> dict[str, str]:
    """type -> count text of the rows of an 'accelerators by type' table."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'data-type="([^"]+)">\s*<th[^>]*>[^<]*</th>\s*<td[^>]*>([^<]*)<', table)
    return dict(rows)


def test_empty_facility_shows_the_load_hint(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "No inventory loaded yet" in r.text
    assert "pnyx facility load FILE" in r.text
    assert "<svg" not in r.text


def test_overview_shows_totals_types_and_chart(ctx: ServiceContext, client: TestClient) -> None:
    load_small(ctx)
    html = client.get("/").text
    assert text_of(html, "total-accelerators") == "40"
    assert text_of(html, "total-nodes") == "7"
    assert text_of(html, "total-sites") == "1"
    assert text_of(html, "total-clusters") == "2"
    assert row_counts(html, "by-type") == {"h100": "32", "gaudi3": "4", "mi300x": "4"}
    assert html.count('<g class="bar"') == 1
    assert 'href="/sites/de-lab"' in html
    assert "Germany" in html  # the host member's name, not only its id
    assert "No inventory loaded yet" not in html


def test_site_page_shows_clusters_partitions_and_totals(
    ctx: ServiceContext, client: TestClient
) -> None:
    load_small(ctx)
    r = client.get("/sites/de-lab")
    assert r.status_code == 200
    assert text_of(r.text, "site-accelerators") == "40"
    assert text_of(r.text, "site-nodes") == "7"
    assert r.text.count('class="cluster"') == 2
    assert '<time datetime="2027-06-30">' in r.text
    assert "Partitions of Lab GPU cluster" in r.text
    assert "expired" not in r.text  # the clock reads 2026; the certificate runs to 2027


def test_unknown_site_is_an_html_404(ctx: ServiceContext, client: TestClient) -> None:
    r = client.get("/sites/atlantis", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "site &#39;atlantis&#39; does not exist" in r.text
    api = client.get("/api/v1/principals/nobody", headers=HTML)
    assert api.status_code == 404
    assert api.json()["error"] == "not_found"  # the API keeps JSON even for browsers


def test_bad_page_parameters_are_an_html_422(client: TestClient) -> None:
    r = client.get("/events?limit=0", headers=HTML)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "limit" in r.text


def test_events_page_lists_every_event_newest_first(
    ctx: ServiceContext, client: TestClient
) -> None:
    load_small(ctx)
    total = events.event_count(ctx)
    assert total >= 3  # member admitted, site and two clusters declared
    html = client.get(f"/events?limit={total}").text
    seqs = [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', html)]
    assert len(seqs) == total
    assert seqs == sorted(seqs, reverse=True)
    assert "member.admitted" in html
    assert "cluster.declared" in html
    assert f"Showing {total} of {total} events" in html


def test_events_page_paginates(ctx: ServiceContext, client: TestClient) -> None:
    load_small(ctx)
    total = events.event_count(ctx)
    first = client.get("/events?limit=2").text
    second = client.get("/events?offset=2&limit=2").text
    first_seqs = re.findall(r'<tr data-seq="(\d+)"', first)
    second_seqs = re.findall(r'<tr data-seq="(\d+)"', second)
    assert [int(s) for s in first_seqs + second_seqs] == list(range(total - 1, total - 5, -1))
    assert 'href="/events?offset=2&amp;limit=2"' in first
    assert 'href="/events?offset=0&amp;limit=2"' in second


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/pnyx.css")
    assert css.status_code == 200
    assert "--accent" in css.text
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert js.text.startswith("var htmx=")


def test_restricted_events_show_a_commitment_not_the_secret(
    ctx: ServiceContext, client: TestClient
) -> None:
    new = NewPrincipal("ada", "Ada", frozenset({Role.RESEARCHER}))
    identity.create_principal(ctx, Actor.system(), new)
    issued = identity.issue_token(ctx, Actor.system(), "ada")
    newest = events.list_events(ctx, 0, 1, newest_first=True).items[0]
    assert newest.kind == "token.issued"
    assert newest.commitment
    html = client.get("/events").text
    row = html.split(f'<tr data-seq="{newest.seq}">', 1)[1].split("</tr>", 1)[0]
    assert f"commitment: <code>{newest.commitment}</code>" in row
    assert "restricted" in row
    assert "token_hash" not in html
    assert issued.token not in html
