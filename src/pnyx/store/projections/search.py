"""Projector of search-index events: the latest index recorded for each shard of a version."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from pnyx.domain.events import Event
from pnyx.domain.search import DatasetIndexBuilt
from pnyx.store import tables_search as ts
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


@projects(DatasetIndexBuilt)
def _index_built(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, DatasetIndexBuilt)
    t = ts.search_indexes
    where = (t.c.dataset == ev.dataset) & (t.c.version == ev.version) & (t.c.shard == ev.shard)
    conn.execute(delete(t).where(where))  # a rebuild replaces the shard's row
    conn.execute(t.insert().values(**ev.payload(), built_at=rec.at, built_seq=rec.seq))
