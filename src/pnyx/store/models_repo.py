"""Queries over the run and model projections (JSON columns are decoded here)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from pnyx.store import tables_allocation as ta
from pnyx.store import tables_council as tc
from pnyx.store import tables_models as tm

_JSON = {"config", "datasets", "lineage", "files", "release_gate", "metrics"}


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in _JSON & out.keys():
        if out[key] is not None:
            out[key] = json.loads(out[key])
    return out


# --- runs -------------------------------------------------------------------------------------


def run_row(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """The run's row, or None."""
    row = conn.execute(select(tm.runs).where(tm.runs.c.run_id == run_id)).first()
    return _decode(row) if row else None


def run_rows(conn: Connection, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Runs, newest first."""
    stmt = select(tm.runs).order_by(tm.runs.c.registered_seq.desc()).offset(offset).limit(limit)
    return [_decode(r) for r in conn.execute(stmt)]


def run_by_job(conn: Connection, job_id: str) -> dict[str, Any] | None:
    """The run registered for a job, or None."""
    row = conn.execute(select(tm.runs).where(tm.runs.c.job_id == job_id)).first()
    return _decode(row) if row else None


def runs_using(conn: Connection, dataset: str, version: int) -> list[dict[str, Any]]:
    """Runs that trained on ``dataset`` version ``version``, oldest first."""
    rd = tm.run_datasets
    stmt = (
        select(tm.runs)
        .join(rd, rd.c.run_id == tm.runs.c.run_id)
        .where((rd.c.dataset == dataset) & (rd.c.version == version))
        .order_by(tm.runs.c.registered_seq)
    )
    return [_decode(r) for r in conn.execute(stmt)]


def metric_rows(conn: Connection, run_id: str, after_step: int = -1) -> list[dict[str, Any]]:
    """A run's metric points after ``after_step``, by step."""
    t = tm.run_metrics
    stmt = (
        select(t.c.step, t.c.loss, t.c.tokens_per_s, t.c.mfu, t.c.lr)
        .where((t.c.run_id == run_id) & (t.c.step > after_step))
        .order_by(t.c.step)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def has_metrics(conn: Connection, run_id: str) -> bool:
    """True when any metric point of ``run_id`` is on record."""
    t = tm.run_metrics
    return conn.execute(select(t.c.step).where(t.c.run_id == run_id).limit(1)).first() is not None


def count_runs(conn: Connection) -> int:
    """How many runs are registered."""
    return int(conn.execute(select(func.count()).select_from(tm.runs)).scalar() or 0)


# --- models -----------------------------------------------------------------------------------


def version_row(conn: Connection, model: str, version: int) -> dict[str, Any] | None:
    """A model version's row, or None."""
    t = tm.model_versions
    stmt = select(t).where((t.c.model == model) & (t.c.version == version))
    row = conn.execute(stmt).first()
    return _decode(row) if row else None


def version_rows(conn: Connection, *, released_only: bool = False) -> list[dict[str, Any]]:
    """Model versions, newest first."""
    t = tm.model_versions
    stmt = select(t).order_by(t.c.registered_seq.desc())
    if released_only:
        stmt = stmt.where(t.c.released.is_(True))
    return [_decode(r) for r in conn.execute(stmt)]


def latest_version(conn: Connection, model: str) -> int:
    """The highest version number of ``model``; 0 when it has none."""
    t = tm.model_versions
    return int(conn.execute(select(func.max(t.c.version)).where(t.c.model == model)).scalar() or 0)


def versions_of_run(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    """Model versions trained by a run."""
    t = tm.model_versions
    stmt = select(t).where(t.c.run_id == run_id).order_by(t.c.registered_seq)
    return [_decode(r) for r in conn.execute(stmt)]


def eval_rows(conn: Connection, model: str, version: int) -> list[dict[str, Any]]:
    """A model version's evaluation reports, by suite."""
    t = tm.model_evals
    stmt = select(t).where((t.c.model == model) & (t.c.version == version)).order_by(t.c.suite)
    return [_decode(r) for r in conn.execute(stmt)]


def openness(conn: Connection, award_id: str) -> tuple[bool, bool] | None:
    """(weights_open, data_open) committed by the award's proposal, or None without one."""
    p = ta.proposals
    stmt = select(p.c.weights_open, p.c.data_open).where(p.c.proposal_id == award_id)
    row = conn.execute(stmt).first()
    return (bool(row.weights_open), bool(row.data_open)) if row else None


def release_approvals(conn: Connection, model: str) -> list[tuple[str, str]]:
    """(resolution id, level) of every enacted approve-release resolution for ``model``."""
    t = tc.council_approvals
    stmt = select(t.c.resolution_id, t.c.level).where(
        (t.c.subject_kind == "model") & (t.c.subject == model)
    )
    return [(r.resolution_id, r.level) for r in conn.execute(stmt)]
