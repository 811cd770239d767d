"""The Models and run pages in a real browser over a real `pnyx up`: lineage and card of a
model version, and a run's loss plot that grows by itself (htmx polling) while metrics arrive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live import live_server
from playwright.sync_api import Browser
from tests.integration.models_setup import make_dataset, make_run_output

from pnyx.domain.identity import Actor
from pnyx.services import models, runs
from pnyx.services.context import ServiceContext
from pnyx.services.setup import build_context
from pnyx.settings import Settings
from pnyx.store.db import url_for_data_dir

pytestmark = pytest.mark.browser
SYSTEM = Actor.system()


def context(data: Path) -> ServiceContext:
    return build_context(Settings(data_dir=data, db_url=url_for_data_dir(data)))


def points(*steps: int) -> list[dict[str, float]]:
    return [{"step": s, "loss": 6.0 - 0.3 * s, "tokens_per_s": 900.0 + s} for s in steps]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("models")
    data = work / "data"
    ctx = context(data)
    store = models.artifact_store(data)
    out = make_run_output(work / "run", make_dataset(store), [[0, 1], [2]])
    run = runs.register_run_dir(ctx, SYSTEM, store, out)
    models.register_model_version(
        ctx, SYSTEM, store, run.run_id, out / "model", "browser-lm", "MIT", "Seen in a browser."
    )
    runs.report_metrics(ctx, SYSTEM, "run-live", points(1, 2, 3))
    ctx.db.dispose()
    with live_server(data, work / "server.log") as base:
        yield base, data


def test_model_lineage_and_card(browser: Browser, server: tuple[str, Path]) -> None:
    base, _ = server
    page = browser.new_page()
    page.goto(base + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url("**/models")
    page.locator("#models").get_by_role("link", name="browser-lm@1").click()
    page.wait_for_url("**/models/browser-lm@1")
    assert "tinycode@1" in page.locator("#lineage").inner_text()
    assert "license: mit" in page.locator("#card").inner_text()
    assert page.locator("#released").inner_text() == "not yet"
    assert page.locator("#download").count() == 0  # not public: no download link


def test_run_plot_refreshes_while_training(browser: Browser, server: tuple[str, Path]) -> None:
    base, data = server
    page = browser.new_page()
    page.goto(base + "/runs/run-live")
    assert page.locator("#training").is_visible()
    line = "#run-plots svg[aria-labelledby^='loss'] polyline"
    assert len(page.locator(line).get_attribute("points").split()) == 3  # type: ignore[union-attr]
    ctx = context(data)
    runs.report_metrics(ctx, SYSTEM, "run-live", points(4, 5))
    ctx.db.dispose()
    page.wait_for_function(
        f"document.querySelector(\"{line}\").getAttribute('points').split(' ').length === 5",
        timeout=15_000,
    )
    assert page.locator("#metrics tbody tr").count() == 5
