"""Datasets: list, versions, manifests, Croissant, checked shard bytes, opt-out removals."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from pnyx.api.deps import Caller, Ctx
from pnyx.api.schemas import Body
from pnyx.data.artifacts import ArtifactStore
from pnyx.data.remote_store import open_artifact_store
from pnyx.errors import InvalidInputError
from pnyx.services import datasets
from pnyx.services.datasets_dto import (
    DatasetVersionView,
    DatasetView,
    RemovalResult,
    VerifyView,
)

router = APIRouter(prefix="/api/v1", tags=["datasets"])


def get_artifacts(request: Request) -> ArtifactStore:
    """The server's artifact store (Settings.artifacts_root, or Settings.artifacts_url)."""
    settings = request.app.state.settings
    return open_artifact_store(settings.artifacts_root, settings.artifacts_url)


Artifacts = Annotated[ArtifactStore, Depends(get_artifacts)]


class RemovalIn(Body):
    """An opt-out request: records by content hash and/or by source URL, and why."""

    record_hashes: list[str] = Field(default_factory=list, max_length=10_000)
    source_urls: list[str] = Field(default_factory=list, max_length=10_000)
    reason: str = Field(min_length=1, max_length=2000)


def _version(version: str) -> int | None:
    if version == "latest":
        return None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInputError(f"version must be a positive integer or 'latest', not {version!r}")
    return int(version)


@router.get("/datasets")
def list_datasets(ctx: Ctx) -> list[DatasetView]:
    """Every dataset with its newest version."""
    return datasets.list_datasets(ctx)


@router.get("/datasets/{name}/versions")
def list_versions(name: str, ctx: Ctx) -> list[DatasetVersionView]:
    """Every version of a dataset, oldest first."""
    return datasets.list_versions(ctx, name)


@router.get("/datasets/{name}/{version}")
def get_version(name: str, version: str, ctx: Ctx) -> DatasetVersionView:
    """A version ('latest' or a number): manifest, ledger binding, shards, removals."""
    return datasets.get_version(ctx, name, _version(version))


@router.get("/datasets/{name}/{version}/croissant")
def croissant(name: str, version: str, ctx: Ctx, request: Request) -> Response:
    """The version's Croissant 1.0 JSON-LD description."""
    base = str(request.base_url).rstrip("/")
    doc: dict[str, Any] = datasets.croissant(ctx, name, _version(version), base)
    body = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    return Response(body, media_type="application/ld+json")


@router.get("/datasets/{name}/{version}/shards/{sha256}")
def shard(name: str, version: str, sha256: str, ctx: Ctx, artifacts: Artifacts) -> Response:
    """A shard's bytes, served only when they still match their hash (else 422, recorded)."""
    view = datasets.get_version(ctx, name, _version(version))
    data = datasets.read_shard(ctx, artifacts, name, view.version, sha256)
    jsonl = any(s.sha256 == sha256 and s.format == "jsonl" for s in view.shards)
    media = "application/jsonlines" if jsonl else "application/x-tar"
    return Response(data, media_type=media, headers={"X-Content-SHA256": sha256})


@router.post("/datasets/{name}/{version}/verify")
def verify(name: str, version: str, ctx: Ctx, actor: Caller, artifacts: Artifacts) -> VerifyView:
    """Re-hash every shard of a version (operators); failures are recorded on the ledger."""
    return datasets.verify_version(ctx, actor, artifacts, name, _version(version))


@router.post("/datasets/{name}/removals", status_code=201)
def remove(
    name: str, body: RemovalIn, ctx: Ctx, actor: Caller, artifacts: Artifacts
) -> RemovalResult:
    """Opt-out (operators): a new version without the records; lists the affected runs."""
    return datasets.remove_records(
        ctx, actor, artifacts, name, body.record_hashes, body.source_urls, body.reason
    )
