"""The public event stream."""

from __future__ import annotations

from fastapi import APIRouter

from pnyx.api.deps import Ctx, Limit, Offset
from pnyx.services import events as svc
from pnyx.services.dto import EventView, Page

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events")
def list_events(
    ctx: Ctx, offset: Offset = 0, limit: Limit = 100, newest_first: bool = False
) -> Page[EventView]:
    """Public ledger entries (private fields appear only as commitments)."""
    return svc.list_events(ctx, offset, limit, newest_first)
