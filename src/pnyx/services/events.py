"""Read the public event stream."""

from __future__ import annotations

from pnyx.services.context import ServiceContext
from pnyx.services.dto import EventView, Page
from pnyx.services.identity import _check_page
from pnyx.store.eventstore import log_size, read_entries


def list_events(
    ctx: ServiceContext, offset: int = 0, limit: int = 100, newest_first: bool = False
) -> Page[EventView]:
    """Public entries of the log, oldest first (or newest first)."""
    _check_page(offset, limit)
    with ctx.db.read() as conn:
        total = log_size(conn)
        if newest_first:
            end = max(total - offset, 0)
            start = max(end - limit, 0)
        else:
            start, end = offset, min(offset + limit, total)
        entries = list(read_entries(conn, start, end))
    if newest_first:
        entries.reverse()
    items = [EventView.model_validate(e.public_view()) for e in entries]
    return Page(items=items, total=total, offset=offset, limit=limit)


def event_count(ctx: ServiceContext) -> int:
    """Number of entries in the log."""
    with ctx.db.read() as conn:
        return log_size(conn)
