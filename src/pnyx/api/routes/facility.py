"""The facility inventory: public reads, and loading a facility spec (operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from pnyx.api.deps import Caller, Ctx, Limit, Offset
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError
from pnyx.services import inventory as svc
from pnyx.services.context import ServiceContext
from pnyx.services.dto import Page
from pnyx.services.inventory_dto import (
    ClusterSummary,
    FacilitySummary,
    LoadResult,
    NodeView,
    PodView,
    SiteSummary,
)

router = APIRouter(prefix="/api/v1", tags=["facility"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_SPEC_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the facility spec (docs/inventory.md), as JSON or YAML",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/facility")
def facility(ctx: Ctx) -> FacilitySummary:
    """Every site with its clusters, and the facility's totals per accelerator type."""
    return svc.facility_summary(ctx)


@router.post("/facility", openapi_extra=_SPEC_BODY)
async def load_facility(request: Request, ctx: Ctx, actor: Caller) -> LoadResult:
    """Declare the facility (operators): records events only for what changed.

    An invalid spec is refused with 422 and nothing is written.
    """
    require_role(actor, Role.OPERATOR)
    body = await _read_body(request, svc.MAX_SPEC_BYTES)
    fmt = "yaml" if _media_type(request) in YAML_TYPES else "json"
    return await run_in_threadpool(_load, ctx, actor, body, fmt)


@router.get("/sites/{site_id}")
def get_site(site_id: str, ctx: Ctx) -> SiteSummary:
    """One site with its clusters."""
    return svc.get_site(ctx, site_id)


@router.get("/clusters/{cluster_id}")
def get_cluster(cluster_id: str, ctx: Ctx) -> ClusterSummary:
    """One cluster with its partitions."""
    return svc.get_cluster(ctx, cluster_id)


@router.get("/clusters/{cluster_id}/pods")
def list_pods(cluster_id: str, ctx: Ctx) -> list[PodView]:
    """A cluster's pods in declared order."""
    return svc.list_pods(ctx, cluster_id)


@router.get("/nodes")
def list_nodes(
    ctx: Ctx,
    cluster: str | None = Query(default=None, description="only this cluster's nodes"),
    offset: Offset = 0,
    limit: Limit = 100,
) -> Page[NodeView]:
    """Nodes by name, of one cluster or of the whole facility."""
    return svc.list_nodes(ctx, cluster, offset, limit)


def _load(ctx: ServiceContext, actor: Actor, body: bytes, fmt: str) -> LoadResult:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"request body is not UTF-8 ({e.reason})") from e
    return svc.load_facility(ctx, actor, svc.parse_facility_text(text, fmt, "request body"))


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InvalidInputError(f"request body of {declared} bytes is over the {limit} limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidInputError(f"request body is over the {limit} bytes limit")
        chunks.append(chunk)
    return b"".join(chunks)
