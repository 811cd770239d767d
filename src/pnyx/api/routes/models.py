"""Models and runs: list, detail, release, download as an archive with checksums, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from pnyx.api.deps import Caller, Ctx, Limit, Offset
from pnyx.data.artifacts import ArtifactStore
from pnyx.services import models, runs
from pnyx.services.models_dto import MetricPoint, ModelVersionView, RunView

router = APIRouter(prefix="/api/v1", tags=["models"])


def store_of(request: Request) -> ArtifactStore:
    """The server's artifact store (DATA/artifacts)."""
    return models.artifact_store(request.app.state.settings.data_dir)


@router.get("/models")
def list_models(
    ctx: Ctx, all: bool = Query(False, description="include versions not released yet")
) -> list[ModelVersionView]:
    """Model versions, newest first (released ones unless ``all``)."""
    return models.list_models(ctx, include_unreleased=all)


@router.get("/models/{ref}")
def get_model(ref: str, ctx: Ctx) -> ModelVersionView:
    """A model version (``NAME@N``, or ``NAME`` for its newest) with lineage and evaluations."""
    return models.get_model(ctx, ref)


@router.post("/models/{ref}/release")
def release_model(ref: str, request: Request, ctx: Ctx, actor: Caller) -> ModelVersionView:
    """Release a model version through the gate of its containment level."""
    return models.release_model(ctx, actor, store_of(request), ref)


@router.get("/models/{ref}/archive")
def download_archive(ref: str, request: Request, ctx: Ctx, actor: Caller) -> Response:
    """The HF-format directory as ``.tar.gz`` (with SHA256SUMS); each file was checked against
    its recorded hash. Downloads of models that are not public are recorded on the ledger."""
    view, data = models.archive_model(ctx, actor, store_of(request), ref)
    name = f"{view.model}-{view.version}.tar.gz"
    return Response(
        data,
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/runs")
def list_runs(ctx: Ctx, offset: Offset = 0, limit: Limit = 100) -> list[RunView]:
    """Registered training runs, newest first."""
    return runs.list_runs(ctx, offset, limit)


@router.get("/runs/{run_id}")
def get_run(run_id: str, ctx: Ctx) -> RunView:
    """A run: provenance, links and the model versions it trained."""
    return runs.get_run(ctx, run_id)


@router.get("/runs/{run_id}/metrics")
def run_metrics(
    run_id: str, ctx: Ctx, after: int = Query(-1, description="only steps after this one")
) -> list[MetricPoint]:
    """A run's training metrics (loss, tokens/s, MFU, learning rate) by step."""
    return runs.run_metrics(ctx, run_id, after)
