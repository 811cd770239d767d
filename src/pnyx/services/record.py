"""The one write path: append events and apply them to the projections in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy import Connection

import pnyx.store.projections  # noqa: F401  (registers every projector)
from pnyx.domain.events import Event
from pnyx.domain.identity import Actor
from pnyx.services.context import ServiceContext
from pnyx.store.eventstore import RecordedEvent, append_events
from pnyx.store.projection import apply_event

EVENTS_RECORDED = Counter("pnyx_events_recorded", "Events appended to the ledger", ["kind"])


def record(
    conn: Connection, ctx: ServiceContext, actor: Actor, events: Sequence[Event]
) -> list[RecordedEvent]:
    """Append ``events`` (by ``actor``, now) and update the projections; same transaction."""
    recorded = append_events(conn, events, actor=actor.principal_id, at=ctx.now())
    for rec, event in zip(recorded, events, strict=True):
        apply_event(conn, rec, event)
        EVENTS_RECORDED.labels(kind=event.KIND).inc()
    return recorded
