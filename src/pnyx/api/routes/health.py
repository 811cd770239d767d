"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from pnyx.api.deps import Ctx
from pnyx.services import events

router = APIRouter(tags=["health"])
LOG_SIZE = Gauge("pnyx_log_entries", "Entries in the facility ledger")


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, object]:
    """200 when the database answers."""
    return {"status": "ok", "log_entries": events.event_count(ctx)}


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: Ctx) -> Response:
    """Prometheus text exposition."""
    LOG_SIZE.set(events.event_count(ctx))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
