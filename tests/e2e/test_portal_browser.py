"""The portal in a real browser: a real `pnyx up` server over the 100k-accelerator facility.

The expected numbers are computed here from the YAML file itself, not by pnyx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from live import live_server, pnyx
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
FACILITY = ROOT / "examples" / "facility-100k.yaml"
# From the header comment of facility-100k.yaml ("Members to admit before loading").
MEMBERS = {"de": "Germany", "fr": "France", "it": "Italy", "es": "Spain"}


@dataclass
class Expected:
    """Accelerators per type, for the facility and for each site."""

    by_type: dict[str, int] = field(default_factory=dict)
    sites: dict[str, dict[str, int]] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


def expected_from_yaml(path: Path) -> Expected:
    """Sum accelerators straight from the file: pods x nodes x accelerators per node."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = Expected()
    for site in spec["sites"]:
        out.hosts.add(site["host_member"])
        per_site = out.sites.setdefault(site["site_id"], {})
        for pod in (p for c in site.get("clusters", []) for p in c.get("pods", [])):
            add_pod(pod, per_site, out.by_type)
    return out


def add_pod(pod: dict[str, Any], per_site: dict[str, int], facility: dict[str, int]) -> None:
    pods = pod["count"] if "pod_prefix" in pod else 1
    for group in pod["nodes"]:
        nodes = len(group["names"]) if "names" in group else group["count"]
        n = pods * nodes * group["accelerators_per_node"]
        for counts in (per_site, facility):
            counts[group["accelerator_type"]] = counts.get(group["accelerator_type"], 0) + n


@pytest.fixture(scope="module")
def expected() -> Expected:
    exp = expected_from_yaml(FACILITY)
    assert exp.total == 100_000, "the reference facility file should hold 100,000 accelerators"
    assert exp.hosts == set(MEMBERS), "the file's host members changed: update MEMBERS"
    return exp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, expected: Expected) -> Iterator[str]:
    work = tmp_path_factory.mktemp("portal")
    data, log = work / "data", work / "server.log"
    for member_id, name in MEMBERS.items():
        pnyx("member", "admit", member_id, "--name", name, "--data", str(data))
    pnyx("facility", "load", str(FACILITY), "--data", str(data))
    with live_server(data, log) as base:
        yield base


def count_text(n: int) -> str:
    return f"{n:,}"


def type_counts(page: Page) -> dict[str, str]:
    """type -> count text, from the 'accelerators by type' table."""
    rows = page.locator("#by-type tbody tr")
    return {
        rows.nth(i).get_attribute("data-type") or "": rows.nth(i).locator("td").first.inner_text()
        for i in range(rows.count())
    }


def check_overview(page: Page, expected: Expected) -> None:
    assert page.locator("#total-accelerators").inner_text() == "100,000"
    want = {t: count_text(n) for t, n in expected.by_type.items()}
    assert type_counts(page) == want
    assert page.locator("#by-type tfoot td[data-total]").inner_text() == "100,000"


def test_overview_shows_the_facility(browser: Browser, server: str, expected: Expected) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    assert page.title().startswith("Facility overview")
    check_overview(page, expected)
    chart = page.locator("svg.chart[role=img]")
    assert chart.count() == 1
    assert chart.locator("g.bar").count() == len(expected.sites)
    for site_id, counts in expected.sites.items():
        total = page.locator(f'#sites tr[data-site="{site_id}"] td[data-total]')
        assert total.inner_text() == count_text(sum(counts.values()))


def test_site_page_from_the_overview_link(
    browser: Browser, server: str, expected: Expected
) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    site_id = max(expected.sites, key=lambda s: sum(expected.sites[s].values()))
    page.locator(f'#sites tr[data-site="{site_id}"] th a').click()
    page.wait_for_url(f"**/sites/{site_id}")
    want = expected.sites[site_id]
    assert page.locator("#site-accelerators").inner_text() == count_text(sum(want.values()))
    assert type_counts(page) == {t: count_text(n) for t, n in want.items()}
    assert page.locator("section.cluster").count() >= 1


def test_events_page_and_htmx_paging(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()
    page.wait_for_url("**/events")
    rows = page.locator("#events tbody tr")
    # 4 members admitted + 4 sites + 7 clusters declared.
    assert rows.count() >= 15
    assert page.locator("#events tbody tr", has_text="cluster.declared").count() == 7
    page.goto(server + "/events?limit=5")
    page.evaluate("window.__notReloaded = true")
    first = rows.first.get_attribute("data-seq")
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**/events?offset=5&limit=5")
    page.wait_for_function(f"document.querySelector('#events tbody tr').dataset.seq != '{first}'")
    assert int(rows.first.get_attribute("data-seq") or -1) == int(first or 0) - 5
    assert page.evaluate("window.__notReloaded === true"), "htmx should swap, not reload"


def test_pages_read_without_javascript(browser: Browser, server: str, expected: Expected) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/")
    check_overview(page, expected)
    page.goto(server + "/events?limit=5")
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**/events?offset=5&limit=5")
    assert page.locator("#events tbody tr").count() == 5
    context.close()


def test_unknown_site_is_an_html_404_in_the_browser(browser: Browser, server: str) -> None:
    page = browser.new_page()
    response = page.goto(server + "/sites/atlantis")
    assert response is not None
    assert response.status == 404
    assert "does not exist" in page.locator("#error-detail").inner_text()
