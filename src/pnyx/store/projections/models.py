"""Projectors for runs, run metrics, model versions, evaluations, releases and downloads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from pnyx.domain import models as m
from pnyx.domain.events import Event, canonical_json
from pnyx.store import tables_models as tm
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


def dump(value: Any) -> str:
    """Canonical JSON text, so live and replayed rows compare equal."""
    return canonical_json(value).decode()


@projects(m.RunRegistered)
def _run_registered(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.RunRegistered)
    values = ev.payload()
    values.update(
        config=dump(ev.config),
        datasets=dump(ev.datasets),
        registered_at=rec.at,
        registered_seq=rec.seq,
        **_metric_summary(conn, ev.run_id),
    )
    conn.execute(tm.runs.insert().values(**values))
    rows = [
        {
            "run_id": ev.run_id,
            "dataset": d["dataset"],
            "version": d["version"],
            "manifest_sha256": d["manifest_sha256"],
        }
        for d in ev.datasets
    ]
    if rows:
        conn.execute(tm.run_datasets.insert(), rows)


def _metric_summary(conn: Connection, run_id: str) -> dict[str, Any]:
    """metric_points, last_step, last_loss of a run from its metric rows (streamed while the
    job ran, before the run was registered, or after)."""
    t = tm.run_metrics
    count = conn.execute(select(func.count()).where(t.c.run_id == run_id)).scalar() or 0
    last = conn.execute(
        select(t.c.step, t.c.loss).where(t.c.run_id == run_id).order_by(t.c.step.desc()).limit(1)
    ).first()
    return {
        "metric_points": int(count),
        "last_step": last.step if last else None,
        "last_loss": last.loss if last else None,
    }


@projects(m.RunMetricsReported)
def _metrics_reported(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.RunMetricsReported)
    t = tm.run_metrics
    known = set(conn.execute(select(t.c.step).where(t.c.run_id == ev.run_id)).scalars())
    fresh = [{"run_id": ev.run_id, **p} for p in ev.points if p["step"] not in known]
    if fresh:
        conn.execute(t.insert(), fresh)
    where = tm.runs.c.run_id == ev.run_id
    if conn.execute(select(tm.runs.c.run_id).where(where)).first() is not None:
        conn.execute(update(tm.runs).where(where).values(**_metric_summary(conn, ev.run_id)))


@projects(m.ModelVersionRegistered)
def _version_registered(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.ModelVersionRegistered)
    values = ev.payload()
    values.update(
        lineage=dump(ev.lineage),
        files=dump(ev.files),
        released=False,
        released_at=None,
        release_gate=None,
        release_resolution_id=None,
        downloads=0,
        registered_at=rec.at,
        registered_seq=rec.seq,
    )
    conn.execute(tm.model_versions.insert().values(**values))


@projects(m.ModelEvaluated)
def _evaluated(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.ModelEvaluated)
    t = tm.model_evals
    key = (t.c.model == ev.model) & (t.c.version == ev.version) & (t.c.suite == ev.suite)
    values = {
        "report_sha256": ev.report_sha256,
        "metrics": dump(ev.metrics),
        "evaluated_at": rec.at,
    }
    if conn.execute(select(t.c.suite).where(key)).first() is None:
        conn.execute(
            t.insert().values(model=ev.model, version=ev.version, suite=ev.suite, **values)
        )
    else:
        conn.execute(update(t).where(key).values(**values))


def _version_key(model: str, version: int) -> Any:
    t = tm.model_versions
    return (t.c.model == model) & (t.c.version == version)


@projects(m.ModelReleased)
def _released(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.ModelReleased)
    conn.execute(
        update(tm.model_versions)
        .where(_version_key(ev.model, ev.version))
        .values(
            released=True,
            released_at=rec.at,
            release_gate=dump(ev.gate),
            release_resolution_id=ev.resolution_id,
            card_sha256=ev.card_sha256,
        )
    )


@projects(m.ModelDownloaded)
def _downloaded(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, m.ModelDownloaded)
    t = tm.model_versions
    conn.execute(
        update(t).where(_version_key(ev.model, ev.version)).values(downloads=t.c.downloads + 1)
    )
