"""Portal pages of datasets: the list, and one version with manifest, shards, licence, removals."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pnyx.errors import InvalidInputError
from pnyx.services import datasets
from pnyx.web.routes import Ctx, render

router = APIRouter(include_in_schema=False)


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(ctx: Ctx) -> HTMLResponse:
    """Every dataset with its newest version's licence and size."""
    return render("datasets.html", active="/datasets", datasets=datasets.list_datasets(ctx))


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_latest_page(ctx: Ctx, name: str) -> HTMLResponse:
    """The newest version of a dataset."""
    return _version_page(ctx, name, None)


@router.get("/datasets/{name}/{version}", response_class=HTMLResponse)
def dataset_version_page(ctx: Ctx, name: str, version: str) -> HTMLResponse:
    """One version: ledger binding, manifest figures, shards with their hashes, removals."""
    if not version.isdigit():
        raise InvalidInputError(f"version must be a number, not {version!r}")
    return _version_page(ctx, name, int(version))


def _version_page(ctx: Ctx, name: str, version: int | None) -> HTMLResponse:
    view = datasets.get_version(ctx, name, version)
    versions = datasets.list_versions(ctx, name)
    manifest_json = json.dumps(view.manifest, indent=2, sort_keys=True, ensure_ascii=False)
    return render(
        "dataset.html",
        active="/datasets",
        v=view,
        versions=versions,
        manifest_json=manifest_json,
    )
