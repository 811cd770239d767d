"""Use cases for programmes: declare (operators), list (public), ensure the five defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select

from pnyx.domain import programmes as p
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import tables_allocation as ta


class ProgrammeView(BaseModel):
    """A programme (a budget line of the facility)."""

    model_config = ConfigDict(frozen=True)
    programme_id: str
    name: str
    description: str
    declared_at: str


def declare_programme(
    ctx: ServiceContext, actor: Actor, programme_id: str, name: str, description: str = ""
) -> ProgrammeView:
    """Declare a programme (operators only); an existing id is a conflict."""
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        exists = programme_row(conn, programme_id) is not None
        event = p.decide_declare_programme(programme_id, name, description, exists)
        record(conn, ctx, actor, [event])
        row = programme_row(conn, programme_id)
    assert row is not None
    return _view(row)


def list_programmes(ctx: ServiceContext) -> list[ProgrammeView]:
    """Every programme, by id (public)."""
    with ctx.db.read() as conn:
        rows = conn.execute(select(ta.programmes).order_by(ta.programmes.c.programme_id))
        return [_view(dict(r._mapping)) for r in rows]


def get_programme(ctx: ServiceContext, programme_id: str) -> ProgrammeView | None:
    """One programme, or None."""
    with ctx.db.read() as conn:
        row = programme_row(conn, programme_id)
    return _view(row) if row else None


def ensure_programmes(ctx: ServiceContext, actor: Actor | None = None) -> list[ProgrammeView]:
    """Declare the five default programmes that are missing (idempotent); all of them after."""
    actor = actor or Actor.system()
    require_role(actor, Role.OPERATOR)
    with ctx.db.transaction() as conn:
        events = [
            p.decide_declare_programme(pid, name, "", exists=False)
            for pid, name in p.DEFAULT_PROGRAMMES.items()
            if programme_row(conn, pid) is None
        ]
        if events:
            record(conn, ctx, actor, events)
    return list_programmes(ctx)


def programme_row(conn: Connection, programme_id: str) -> dict[str, Any] | None:
    """The programme's row, or None."""
    row = conn.execute(
        select(ta.programmes).where(ta.programmes.c.programme_id == programme_id)
    ).first()
    return dict(row._mapping) if row else None


def _view(row: dict[str, Any]) -> ProgrammeView:
    return ProgrammeView(
        programme_id=row["programme_id"],
        name=row["name"],
        description=row["description"],
        declared_at=row["declared_at"],
    )
