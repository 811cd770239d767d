"""pnyx run list / show / register."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pnyx.cli.common import (
    JsonOpt,
    console,
    emit,
    to_jsonable,
)
from pnyx.cli.source import Source, addressed
from pnyx.data.artifacts import ArtifactStore
from pnyx.domain.identity import Actor
from pnyx.services import models, runs
from pnyx.services.models_dto import RunView
from pnyx.settings import DEFAULT_DATA_DIR

app = typer.Typer(help="Training runs: provenance and metrics.")


def _table(items: list[RunView]) -> None:
    table = Table("run", "job", "datasets", "steps", "last loss", "registered")
    for r in items:
        sets = ", ".join(f"{d.dataset}@{d.version}" for d in r.datasets)
        table.add_row(
            r.run_id, str(r.job_id), sets, str(r.steps), str(r.last_loss), r.registered_at
        )
    console.print(table)


def _show(r: RunView) -> None:
    console.print(f"[bold]{r.run_id}[/bold] job {r.job_id}, {r.steps} steps, {r.hardware}")
    console.print(f"  run manifest sha256:{r.manifest_sha256}")
    console.print(f"  order file   sha256:{r.order_sha256}")
    for d in r.datasets:
        console.print(f"  dataset {d.dataset}@{d.version} manifest sha256:{d.manifest_sha256}")
    console.print(f"  award {r.award_id}, resolution {r.resolution_id}, models: {r.models}")
    console.print(f"  last loss {r.last_loss} at step {r.last_step}")


@app.command("list")
@addressed()
def list_(src: Source, json: JsonOpt = False) -> None:
    """List registered training runs, newest first."""
    items = src.read("/api/v1/runs", lambda c, _: runs.list_runs(c))
    emit(items, json or src.is_remote, _table)  # over --url: the server's JSON


@app.command("show")
@addressed()
def show(
    run_id: str,
    src: Source,
    metrics: Annotated[bool, typer.Option(help="include every metric point")] = False,
    json: JsonOpt = False,
) -> None:
    """Show a run: provenance, links, models; with --metrics its loss curve."""
    run = src.read(f"/api/v1/runs/{run_id}", lambda c, _: runs.get_run(c, run_id))
    if metrics:
        points = src.read(
            f"/api/v1/runs/{run_id}/metrics",
            lambda c, _: [p.model_dump() for p in runs.run_metrics(c, run_id)],
        )
        emit({**to_jsonable(run), "metrics": points}, True)
        return
    emit(run, json or src.is_remote, _show)  # over --url: the server's JSON


@app.command("register")
@addressed(url=False, token=False)
def register(
    out_dir: Annotated[Path, typer.Argument(help="the training run's output directory")],
    src: Source,
    job: Annotated[str | None, typer.Option(help="the job that ran it")] = None,
    artifacts: Annotated[
        Path | None, typer.Option(help="artifact store directory (default: DATA/artifacts)")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Register a training run from its output (run manifest, order file, metrics)."""
    store = (
        ArtifactStore(artifacts)
        if artifacts
        else models.artifact_store(src.data or DEFAULT_DATA_DIR)
    )
    view = runs.register_run_dir(src.ctx, Actor.system(), store, out_dir, job)
    emit(view, json, lambda v: console.print(f"registered run {v.run_id} ({v.steps} steps)"))
