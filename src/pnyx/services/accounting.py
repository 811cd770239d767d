"""Use cases for accounting: record usage, admit jobs, statements, decayed fair-share usage.

Usage charges a project's awards of the same type, oldest award first
(:func:`pnyx.domain.accounting.charge_awards`); statements add up those per-award figures, so
the per-project, per-member and per-programme statements always agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from pnyx.domain import accounting as acc
from pnyx.domain.allocation import parse_instant
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import InvalidInputError
from pnyx.services.allocation_dto import StatementLine, StatementView, UsageView
from pnyx.services.context import ServiceContext
from pnyx.services.record import record
from pnyx.store import allocation_repo as repo
from pnyx.store import tables_allocation as ta
from pnyx.store.eventstore import lock_log

SCOPES = ("project", "member", "programme")


def record_usage(
    ctx: ServiceContext,
    actor: Actor,
    project_id: str,
    accelerator_type: str,
    accel_seconds: int,
    start: str,
    end: str,
    job_id: str = "",
) -> UsageView:
    """Record accelerator-seconds a project used (operators and the backend)."""
    require_role(actor, Role.OPERATOR)
    begin, finish = parse_instant(start, "usage start"), parse_instant(end, "usage end")
    if len(job_id) > 200:
        raise InvalidInputError("job id must be at most 200 characters")
    with ctx.db.transaction() as conn:
        awarded = {k for a in repo.award_rows(conn, project_id=project_id) for k in a["hours"]}
        lock_log(conn)
        usage_id = f"u-{repo.count_rows(conn, ta.usage_records) + 1:08d}"
        event = acc.decide_usage(
            usage_id, project_id, accelerator_type, accel_seconds, begin, finish, job_id, awarded
        )
        rec = record(conn, ctx, actor, [event])[0]
    return UsageView(
        **{k: v for k, v in event.payload().items() if k in UsageView.model_fields},
        recorded_at=rec.at,
    )


def check_admission(
    ctx: ServiceContext,
    project_id: str,
    accelerator_type: str,
    accelerators: int,
    time_limit_s: int,
) -> None:
    """Raise PermissionDeniedError unless the project's remaining hours of ``accelerator_type``
    cover ``accelerators`` x ``time_limit_s`` (called before a job starts)."""
    with ctx.db.read() as conn:
        awards = repo.award_rows(conn, project_id=project_id)
        used = repo.used_seconds(conn, project_id).get((project_id, accelerator_type), 0)
    awarded = sum(a["hours"].get(accelerator_type, 0) for a in awards)
    acc.check_admission(project_id, accelerator_type, accelerators, time_limit_s, awarded, used)


def statement(ctx: ServiceContext, scope: str, scope_id: str) -> StatementView:
    """Awarded, used and remaining hours per type for a project, member or programme (public)."""
    _check_scope(scope)
    with ctx.db.read() as conn:
        rows = _charged_awards(conn)
    totals: dict[str, list[int]] = {}
    for row in rows:
        if row[f"{scope}_id"] == scope_id:
            line = totals.setdefault(row["accelerator_type"], [0, 0])
            line[0] += row["hours"]
            line[1] += row["used_seconds"]
    lines = [_line(kind, hours, used) for kind, (hours, used) in sorted(totals.items())]
    return StatementView(scope=scope, scope_id=scope_id, lines=lines)


def statements(ctx: ServiceContext, scope: str) -> list[StatementView]:
    """The statement of every project, member or programme that has awards (public)."""
    _check_scope(scope)
    with ctx.db.read() as conn:
        ids = sorted({row[f"{scope}_id"] for row in _charged_awards(conn)})
    return [statement(ctx, scope, i) for i in ids]


def decayed_usage(
    ctx: ServiceContext, now: datetime, half_life_days: float = acc.DEFAULT_HALF_LIFE_DAYS
) -> dict[str, float]:
    """project -> accelerator-hours used, decayed with ``half_life_days`` (for fair-share)."""
    with ctx.db.read() as conn:
        usage = repo.usage_rows(conn)
    records = [
        (u["project_id"], int(u["accel_seconds"]), parse_instant(u["end_at"], "usage end"))
        for u in usage
    ]
    return acc.decayed_usage(records, now, half_life_days * 86_400)


def list_usage(ctx: ServiceContext) -> list[UsageView]:
    """Every usage record, in recording order (public)."""
    with ctx.db.read() as conn:
        rows = repo.usage_rows(conn)
    return [_usage_view(r) for r in rows]


def _charged_awards(conn: Connection) -> list[dict[str, Any]]:
    """One row per (award, type): its project, member, programme, hours and charged seconds."""
    awards = repo.award_rows(conn)
    used = repo.used_seconds(conn)
    out: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for award in awards:
        for kind, hours in award["hours"].items():
            row = {**award, "accelerator_type": kind, "hours": hours, "used_seconds": 0}
            by_key.setdefault((award["project_id"], kind), []).append(row)
            out.append(row)
    for key, rows in by_key.items():
        split = acc.charge_awards([(r["award_id"], r["hours"]) for r in rows], used.get(key, 0))
        for r in rows:
            r["used_seconds"] = split[r["award_id"]]
    return out


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise InvalidInputError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")


def _line(kind: str, hours: int, used_s: int) -> StatementLine:
    used_h = used_s / acc.SECONDS_PER_HOUR
    return StatementLine(
        accelerator_type=kind,
        awarded_hours=hours,
        used_seconds=used_s,
        used_hours=round(used_h, 3),
        remaining_hours=round(hours - used_h, 3),
    )


def _usage_view(row: dict[str, Any]) -> UsageView:
    fields = {k: v for k, v in row.items() if k in UsageView.model_fields}
    return UsageView(**fields, start=row["start_at"], end=row["end_at"])
