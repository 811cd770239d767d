"""Portal pages of models and runs: the registry with lineage and cards, and each run's live
loss and throughput plots (refreshed with htmx while the job trains)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pnyx.errors import NotFoundError
from pnyx.services import models, runs
from pnyx.services.models_dto import MetricPoint, RunView
from pnyx.web.lineplot import render_line_chart
from pnyx.web.routes import Ctx, render

router = APIRouter(include_in_schema=False)
POLL_S = 2  # seconds between refreshes of a run's plots while it has no registered outcome


@router.get("/models", response_class=HTMLResponse)
def models_page(ctx: Ctx) -> HTMLResponse:
    """Every model version (released or not) and the runs that trained them."""
    return render(
        "models.html",
        active="/models",
        versions=models.list_models(ctx, include_unreleased=True),
        runs=runs.list_runs(ctx),
    )


@router.get("/models/{ref}", response_class=HTMLResponse)
def model_page(ctx: Ctx, ref: str, request: Request) -> HTMLResponse:
    """A model version: lineage, evaluations, files with hashes, release, and its card."""
    version = models.get_model(ctx, ref)
    store = models.artifact_store(request.app.state.settings.data_dir)
    try:
        card = store.read(version.card_sha256).decode()
    except (NotFoundError, OSError) as e:
        card = f"(the card artifact cannot be read: {e})"
    return render("model.html", active="/models", v=version, card=card)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(ctx: Ctx, run_id: str) -> HTMLResponse:
    """A training run: provenance, models, and live loss and tokens-per-second plots."""
    run, points = _run_and_points(ctx, run_id)
    return render(
        "run.html", active="/models", run_id=run_id, run=run, **_plots(run_id, run, points)
    )


@router.get("/runs/{run_id}/plots", response_class=HTMLResponse)
def run_plots(ctx: Ctx, run_id: str) -> HTMLResponse:
    """The plots fragment the run page polls while the run trains."""
    run, points = _run_and_points(ctx, run_id)
    return render("_run_plots.html", run_id=run_id, **_plots(run_id, run, points))


def _run_and_points(ctx: Ctx, run_id: str) -> tuple[RunView | None, list[MetricPoint]]:
    points = runs.run_metrics(ctx, run_id)  # NotFoundError when neither run nor metrics exist
    try:
        return runs.get_run(ctx, run_id), points
    except NotFoundError:
        return None, points


def _plots(run_id: str, run: RunView | None, points: list[MetricPoint]) -> dict[str, Any]:
    loss = [(p.step, p.loss) for p in points if p.loss is not None]
    tps = [(p.step, p.tokens_per_s) for p in points if p.tokens_per_s is not None]
    loss_svg = render_line_chart(
        loss, title=f"Training loss of {run_id}", y_label="loss", id_prefix="loss"
    )
    tps_svg = render_line_chart(
        tps, title=f"Tokens per second of {run_id}", y_label="tokens/s", id_prefix="tps",
        colour_index=1,
    )  # fmt: skip
    return {
        "points": points[-20:],
        "live": run is None,
        "poll_s": POLL_S,
        "loss_chart": Markup(loss_svg),  # noqa: S704  (every text in it is escaped)
        "tps_chart": Markup(tps_svg),  # noqa: S704
    }
