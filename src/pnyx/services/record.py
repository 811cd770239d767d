"""The one write path: append events, apply them to the projections and, every N events, sign a
checkpoint, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy import Connection

import pnyx.store.projections  # noqa: F401  (registers every projector)
from pnyx.domain.events import Event
from pnyx.domain.identity import Actor
from pnyx.services.checkpoints import checkpoint_if_due
from pnyx.services.context import ServiceContext
from pnyx.store.eventstore import RecordedEvent, append_events
from pnyx.store.projection import apply_event

EVENTS_RECORDED = Counter("pnyx_events_recorded", "Events appended to the ledger", ["kind"])


def record(
    conn: Connection, ctx: ServiceContext, actor: Actor, events: Sequence[Event]
) -> list[RecordedEvent]:
    """Append ``events`` (by ``actor``, now), update the projections and sign a checkpoint when
    one is due; all in the caller's transaction."""
    recorded = append_events(conn, events, actor=actor.principal_id, at=ctx.now())
    for rec, event in zip(recorded, events, strict=True):
        apply_event(conn, rec, event)
        EVENTS_RECORDED.labels(kind=event.KIND).inc()
    if recorded:
        checkpoint_if_due(conn, ctx)
    return recorded
