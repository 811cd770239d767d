"""Programme registry against SQLite and PostgreSQL: declare, conflicts, defaults, replay."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pnyx.domain.identity import Actor, Role
from pnyx.errors import ConflictError, InvalidInputError, PermissionDeniedError
from pnyx.services import programmes as svc
from pnyx.services.context import ServiceContext
from pnyx.store import tables as t
from pnyx.store.replay import check_replay

OPERATOR = Actor.system()


def event_count(ctx: ServiceContext) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)


def test_operator_declares_and_lists(ctx: ServiceContext) -> None:
    view = svc.declare_programme(ctx, OPERATOR, "open-models", "Open models", "weights + data")
    assert view.programme_id == "open-models"
    assert [v.programme_id for v in svc.list_programmes(ctx)] == ["open-models"]
    assert svc.get_programme(ctx, "open-models") == view
    assert svc.get_programme(ctx, "nope") is None


def test_researcher_may_not_declare(ctx: ServiceContext) -> None:
    ada = Actor("ada", frozenset({Role.RESEARCHER}))
    with pytest.raises(PermissionDeniedError):
        svc.declare_programme(ctx, ada, "open-models", "Open models")
    assert event_count(ctx) == 0


@pytest.mark.parametrize(("pid", "name"), [("Bad Id", "x"), ("ok", " "), ("ok", "x" * 201)])
def test_bad_input_writes_nothing(ctx: ServiceContext, pid: str, name: str) -> None:
    with pytest.raises(InvalidInputError):
        svc.declare_programme(ctx, OPERATOR, pid, name)
    assert event_count(ctx) == 0


def test_duplicate_is_a_conflict(ctx: ServiceContext) -> None:
    svc.declare_programme(ctx, OPERATOR, "open-models", "Open models")
    with pytest.raises(ConflictError, match="already exists"):
        svc.declare_programme(ctx, OPERATOR, "open-models", "Again")
    assert event_count(ctx) == 1


def test_ensure_programmes_is_idempotent_and_replays(ctx: ServiceContext) -> None:
    svc.declare_programme(ctx, OPERATOR, "safety-research", "Safety")
    first = svc.ensure_programmes(ctx)
    assert len(first) == 5
    assert event_count(ctx) == 5
    assert svc.ensure_programmes(ctx) == first
    assert event_count(ctx) == 5
    assert check_replay(ctx.db).ok
