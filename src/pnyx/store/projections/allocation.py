"""Projectors for programmes, calls, proposals, reviews, awards, usage and billing weights."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from pnyx.domain import accounting as acc
from pnyx.domain import allocation as al
from pnyx.domain import awards as aw
from pnyx.domain import programmes as p
from pnyx.domain import review as rv
from pnyx.domain.events import Event, canonical_json
from pnyx.store import tables_allocation as ta
from pnyx.store.eventstore import RecordedEvent
from pnyx.store.projection import projects


def dump(value: Any) -> str:
    """Canonical JSON text, so live and replayed rows compare equal."""
    return canonical_json(value).decode()


@projects(p.ProgrammeDeclared)
def _programme_declared(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, p.ProgrammeDeclared)
    conn.execute(
        ta.programmes.insert().values(
            programme_id=ev.programme_id,
            name=ev.name,
            description=ev.description,
            declared_at=rec.at,
            declared_seq=rec.seq,
        )
    )


@projects(al.CallOpened)
def _call_opened(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, al.CallOpened)
    values = ev.payload()
    values.update(
        budget=dump(ev.budget),
        budget_credits=dump(ev.budget_credits),
        closed_phases="",
        assigned=False,
        published=False,
        remaining=None,
        opened_at=rec.at,
        opened_seq=rec.seq,
    )
    conn.execute(ta.calls.insert().values(**values))


@projects(al.CallPhaseClosed)
def _phase_closed(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, al.CallPhaseClosed)
    where = ta.calls.c.call_id == ev.call_id
    old = conn.execute(select(ta.calls.c.closed_phases).where(where)).scalar_one()
    phases = sorted({*filter(None, old.split(",")), ev.phase})
    conn.execute(update(ta.calls).where(where).values(closed_phases=",".join(phases)))


@projects(al.ProposalSubmitted)
def _proposal_submitted(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, al.ProposalSubmitted)
    values = ev.payload()
    values.update(
        requested=dump(ev.requested),
        datasets=dump(ev.datasets),
        submitted_at=rec.at,
        submitted_seq=rec.seq,
    )
    conn.execute(ta.proposals.insert().values(**values))


@projects(rv.ConflictDeclared)
def _conflict_declared(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, rv.ConflictDeclared)
    conn.execute(ta.review_conflicts.insert().values(**ev.payload(), declared_at=rec.at))


@projects(rv.ReviewersAssigned)
def _reviewers_assigned(conn: Connection, _rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, rv.ReviewersAssigned)
    rows = [
        {"proposal_id": pid, "reviewer_id": rid, "call_id": ev.call_id}
        for pid, reviewers in ev.assignments.items()
        for rid in reviewers
    ]
    if rows:
        conn.execute(ta.review_assignments.insert(), rows)
    conn.execute(update(ta.calls).where(ta.calls.c.call_id == ev.call_id).values(assigned=True))


@projects(rv.ReviewRecorded)
def _review_recorded(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, rv.ReviewRecorded)
    t = ta.reviews
    key = (t.c.proposal_id == ev.proposal_id) & (t.c.reviewer_id == ev.reviewer_id)
    versions = conn.execute(select(t.c.versions).where(key)).scalar()
    if versions is None:
        conn.execute(t.insert().values(**ev.payload(), versions=1, recorded_at=rec.at))
        return
    conn.execute(
        update(t)
        .where(key)
        .values(score=ev.score, comment=ev.comment, versions=versions + 1, recorded_at=rec.at)
    )


@projects(aw.AwardsPublished)
def _awards_published(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, aw.AwardsPublished)
    call = conn.execute(select(ta.calls).where(ta.calls.c.call_id == ev.call_id)).one()
    for row in ev.results:
        _publish_result(conn, rec, call._mapping, row)
    conn.execute(
        update(ta.calls)
        .where(ta.calls.c.call_id == ev.call_id)
        .values(published=True, remaining=dump(ev.remaining))
    )


def _publish_result(conn: Connection, rec: RecordedEvent, call: Any, row: dict[str, Any]) -> None:
    pid = row["proposal_id"]
    where = ta.proposals.c.proposal_id == pid
    conn.execute(
        update(ta.proposals)
        .where(where)
        .values(
            rank=row["rank"], mean=row["mean"], outcome=row["outcome"], scores=dump(row["scores"])
        )
    )
    if not row["hours"]:
        return
    prop = conn.execute(select(ta.proposals).where(where)).one()._mapping
    conn.execute(
        ta.awards.insert().values(
            award_id=pid,
            call_id=call["call_id"],
            programme_id=call["programme_id"],
            project_id=prop["project_id"],
            member_id=prop["member_id"],
            containment=prop["containment"],
            period_start=call["period_start"],
            period_end=call["period_end"],
            awarded_at=rec.at,
        )
    )
    conn.execute(
        ta.award_hours.insert(),
        [
            {
                "award_id": pid,
                "accelerator_type": k,
                "project_id": prop["project_id"],
                "accel_hours": h,
            }
            for k, h in row["hours"].items()
        ],
    )


@projects(acc.UsageRecorded)
def _usage_recorded(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, acc.UsageRecorded)
    values = ev.payload()
    values["start_at"] = values.pop("start")
    values["end_at"] = values.pop("end")
    conn.execute(
        ta.usage_records.insert().values(**values, recorded_at=rec.at, recorded_seq=rec.seq)
    )


@projects(acc.BillingWeightsSet)
def _weights_set(conn: Connection, rec: RecordedEvent, ev: Event) -> None:
    assert isinstance(ev, acc.BillingWeightsSet)
    rows = [
        {"version": ev.version, "accelerator_type": k, "weight": w, "set_at": rec.at}
        for k, w in ev.weights.items()
    ]
    conn.execute(ta.billing_weights.insert(), rows)
