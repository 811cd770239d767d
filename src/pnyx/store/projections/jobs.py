"""Projectors for jobs: submission, placement, state changes, cancel requests and logs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from pnyx.domain import jobs as dj
from pnyx.domain.events import Event, canonical_json
from pnyx.store import tables_jobs as tj
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


def _dump(value: Any) -> str:
    return canonical_json(value).decode()


def _history(conn: Connection, rec: RecordedEvent, job_id: str, state: str, reason: str) -> None:
    conn.execute(
        tj.job_history.insert().values(
            seq=rec.seq, job_id=job_id, state=state, reason=reason, at=rec.at
        )
    )


@projects(dj.JobSubmitted)
def _submitted(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobSubmitted)
    values = ev.payload()
    reason = values.pop("admission")
    values.update(
        command=_dump(ev.command),
        env=None if ev.env is None else _dump(ev.env),
        accelerator_types=_dump(ev.accelerator_types),
        datasets=_dump(ev.datasets),
        submitted_seq=rec.seq,
        state=dj.JobState.QUEUED.value,
        state_reason=reason,
        cluster=None,
        accelerator_type=None,
        backend_job_id=None,
        allocated_nodes="[]",
        exit_code=None,
        cancel_requested=False,
        cancel_reason=None,
        runs=0,
        submitted_at=rec.at,
        started_at=None,
        ended_at=None,
        updated_seq=rec.seq,
    )
    conn.execute(tj.jobs.insert().values(**values))
    _history(conn, rec, ev.job_id, dj.JobState.QUEUED.value, reason)


@projects(dj.JobPlaced, dj.JobPlacedV1)
def _placed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobPlaced | dj.JobPlacedV1)
    nodes = ev.nodes if isinstance(ev, dj.JobPlaced) else []
    conn.execute(
        update(tj.jobs)
        .where(tj.jobs.c.job_id == ev.job_id)
        .values(
            state=dj.JobState.PLACED.value,
            state_reason=ev.reason,
            cluster=ev.cluster,
            accelerator_type=ev.accelerator_type,
            allocated_nodes=_dump(nodes),
            updated_seq=rec.seq,
        )
    )
    _history(conn, rec, ev.job_id, dj.JobState.PLACED.value, ev.reason)


@projects(dj.JobStateChanged)
def _state_changed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobStateChanged)
    c = tj.jobs.c
    row = conn.execute(select(c.runs).where(c.job_id == ev.job_id)).one()
    target = dj.JobState(ev.to_state)
    values: dict[str, Any] = {
        "state": target.value,
        "state_reason": ev.reason,
        "updated_seq": rec.seq,
    }
    if ev.backend_job_id is not None:
        values["backend_job_id"] = ev.backend_job_id
    if ev.nodes:
        values["allocated_nodes"] = _dump(ev.nodes)
    if ev.exit_code is not None:
        values["exit_code"] = ev.exit_code
    if target is dj.JobState.RUNNING:
        values.update(started_at=rec.at, ended_at=None, runs=row.runs + 1)
    if target.ended:
        values["ended_at"] = rec.at
    if target is dj.JobState.CANCELLED:
        values["cancel_requested"] = False
    if target is dj.JobState.QUEUED:  # back to the broker: a fresh placement, a fresh run
        values.update(
            cluster=None,
            accelerator_type=None,
            backend_job_id=None,
            allocated_nodes="[]",
            exit_code=None,
            ended_at=None,
        )
    conn.execute(update(tj.jobs).where(c.job_id == ev.job_id).values(**values))
    _history(conn, rec, ev.job_id, target.value, ev.reason)


@projects(dj.JobPreemptionNoticed)
def _preemption_noticed(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobPreemptionNoticed)
    sent = f"checkpoint signal {ev.signal} sent" if ev.signal else "no checkpoint signal declared"
    reason = f"preempting: {sent}; requeued at {ev.requeue_at} {ev.reason}"
    conn.execute(
        update(tj.jobs)
        .where(tj.jobs.c.job_id == ev.job_id)
        .values(state_reason=reason, updated_seq=rec.seq)
    )
    _history(conn, rec, ev.job_id, ev.state, reason)


@projects(dj.JobCancelRequested)
def _cancel_requested(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobCancelRequested)
    conn.execute(
        update(tj.jobs)
        .where(tj.jobs.c.job_id == ev.job_id)
        .values(
            cancel_requested=True,
            cancel_reason=f"{ev.requested_by}: {ev.reason}",
            updated_seq=rec.seq,
        )
    )


@projects(dj.JobLogRecorded)
def _log_recorded(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, dj.JobLogRecorded)
    t = tj.job_logs
    values = {"text": ev.text, "size": ev.size, "truncated": ev.truncated, "recorded_at": rec.at}
    exists = conn.execute(select(t.c.job_id).where(t.c.job_id == ev.job_id)).first()
    if exists is None:
        conn.execute(t.insert().values(job_id=ev.job_id, **values))
    else:
        conn.execute(update(t).where(t.c.job_id == ev.job_id).values(**values))
