"""Rebuild the projections from the events and compare them with the live tables.

The rebuild happens in a scratch schema (an attached in-memory database on SQLite, a temporary
schema on PostgreSQL) inside one transaction that is rolled back, so a replay never changes the
live store unless asked to repair it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, delete, select

import pnyx.store.projections  # noqa: F401  (registers every projector)
from pnyx.store.db import Database
from pnyx.store.eventstore import read_full_events
from pnyx.store.projection import apply_event
from pnyx.store.tables import metadata, projection_tables


@dataclass(frozen=True)
class TableDiff:
    """Rows that differ between the live table and its replayed twin."""

    table: str
    only_live: list[dict[str, Any]]
    only_replayed: list[dict[str, Any]]


@dataclass
class ReplayReport:
    """Outcome of a replay: how many events, how many rows per table, and any differences."""

    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    diffs: list[TableDiff] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when replay reproduced every projection exactly."""
        return not self.diffs

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "ok": self.ok,
            "events": self.events,
            "rows": self.rows,
            "diffs": [
                {
                    "table": d.table,
                    "only_live": d.only_live[:20],
                    "only_replayed": d.only_replayed[:20],
                }
                for d in self.diffs
            ],
        }


def replay_events(conn: Connection, target: Connection) -> int:
    """Apply every event read on ``conn`` to the projections reachable through ``target``."""
    events = list(read_full_events(conn))
    for rec, event in events:
        apply_event(target, rec, event)
    return len(events)


def check_replay(db: Database) -> ReplayReport:
    """Rebuild every projection in a scratch schema and diff it against the live tables."""
    report = ReplayReport()
    tables = projection_tables()
    with db.engine.connect() as conn:
        events = list(read_full_events(conn))
        live = {tbl.name: _rows(conn, tbl) for tbl in tables}
        report.events = len(events)
        with _scratch(db, conn) as scratch:
            for rec, event in events:
                apply_event(scratch, rec, event)
            replayed = {tbl.name: _rows(scratch, tbl) for tbl in tables}
    for tbl in tables:
        report.rows[tbl.name] = len(live[tbl.name])
        if live[tbl.name] != replayed[tbl.name]:
            report.diffs.append(_diff(tbl.name, live[tbl.name], replayed[tbl.name]))
    return report


def repair_projections(db: Database) -> int:
    """Empty the live projections and rebuild them from the events; returns the event count."""
    with db.transaction() as conn:
        for table in reversed(projection_tables()):
            conn.execute(delete(table))
        return replay_events(conn, conn)


@contextmanager
def _scratch(db: Database, conn: Connection) -> Iterator[Connection]:
    """``conn`` redirected to an empty scratch schema holding fresh projection tables."""
    name = "pnyx_replay_" + secrets.token_hex(4)
    conn.rollback()
    if db.is_sqlite:
        _driver(conn).execute(f"ATTACH DATABASE ':memory:' AS {name}")
    else:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    scratch = conn.execution_options(schema_translate_map={None: name})
    try:
        metadata.create_all(scratch, tables=projection_tables())
        yield scratch
    finally:
        conn.rollback()
        conn.execution_options(schema_translate_map=None)
        if db.is_sqlite:
            _driver(conn).execute(f"DETACH DATABASE {name}")


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def _rows(conn: Connection, table: Table) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    return [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]


def _diff(name: str, live: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> TableDiff:
    live_set = {_key(r) for r in live}
    rep_set = {_key(r) for r in replayed}
    return TableDiff(
        table=name,
        only_live=[r for r in live if _key(r) not in rep_set],
        only_replayed=[r for r in replayed if _key(r) not in live_set],
    )


def _key(row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in row.items()))
