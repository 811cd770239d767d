"""The dispatcher's namespace lives only in the event log (read by kind): nothing to project."""

from __future__ import annotations

from sqlalchemy import Connection

from pnyx.domain.dispatch import EngineNamespaceSet
from pnyx.domain.events import Event
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(EngineNamespaceSet)
def _namespace_set(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    """No table: :func:`pnyx.store.dispatch_repo.store_namespace` reads the event itself."""
    del conn, rec, ev
