"""Projection tables of allocation: programmes, calls, proposals, reviews, awards, usage."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from pnyx.store.tables import metadata

programmes = Table(
    "programmes",
    metadata,
    Column("programme_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("declared_at", String(32), nullable=False),
    Column("declared_seq", BigInteger, nullable=False),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("programme_id", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("budget", Text, nullable=False),  # canonical JSON: accelerator-hours per type
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("deadline", String(40), nullable=False),
    Column("review_deadline", String(40), nullable=False),
    Column("min_reviewers", Integer, nullable=False),
    Column("score_min", Integer, nullable=False),
    Column("score_max", Integer, nullable=False),
    Column("threshold", String(16), nullable=False),
    Column("budget_credits", Text, nullable=False),  # canonical JSON ({} if given in hours)
    Column("billing_version", Integer, nullable=False),
    Column("closed_phases", String(32), nullable=False),  # comma-separated, sorted
    Column("assigned", Boolean, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("remaining", Text, nullable=True),  # canonical JSON once published
    Column("opened_at", String(32), nullable=False),
    Column("opened_seq", BigInteger, nullable=False),
)

proposals = Table(
    "proposals",
    metadata,
    Column("proposal_id", String(80), primary_key=True),
    Column("call_id", String(64), nullable=False, index=True),
    Column("proposer_id", String(64), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("project_id", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("abstract", Text, nullable=False),
    Column("requested", Text, nullable=False),  # canonical JSON
    Column("containment", String(8), nullable=False),
    Column("datasets", Text, nullable=False),  # canonical JSON list
    Column("weights_open", Boolean, nullable=False),
    Column("data_open", Boolean, nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("submitted_seq", BigInteger, nullable=False),
    # filled when results are published
    Column("rank", Integer, nullable=True),
    Column("mean", String(16), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("scores", Text, nullable=True),  # canonical JSON list, as published
)

review_conflicts = Table(
    "review_conflicts",
    metadata,
    Column("proposal_id", String(80), primary_key=True),
    Column("reviewer_id", String(64), primary_key=True),
    Column("call_id", String(64), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("declared_at", String(32), nullable=False),
)

review_assignments = Table(
    "review_assignments",
    metadata,
    Column("proposal_id", String(80), primary_key=True),
    Column("reviewer_id", String(64), primary_key=True),
    Column("call_id", String(64), nullable=False, index=True),
)

reviews = Table(
    "reviews",
    metadata,
    Column("proposal_id", String(80), primary_key=True),
    Column("reviewer_id", String(64), primary_key=True),
    Column("call_id", String(64), nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("versions", Integer, nullable=False),  # 1 + number of amendments
    Column("recorded_at", String(32), nullable=False),
)

awards = Table(
    "awards",
    metadata,
    Column("award_id", String(80), primary_key=True),  # the proposal id
    Column("call_id", String(64), nullable=False, index=True),
    Column("programme_id", String(64), nullable=False, index=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("containment", String(8), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("awarded_at", String(32), nullable=False),
)

award_hours = Table(
    "award_hours",
    metadata,
    Column("award_id", String(80), primary_key=True),
    Column("accelerator_type", String(16), primary_key=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("accel_hours", BigInteger, nullable=False),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("usage_id", String(64), primary_key=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("accelerator_type", String(16), nullable=False),
    Column("accel_seconds", BigInteger, nullable=False),
    Column("start_at", String(40), nullable=False),
    Column("end_at", String(40), nullable=False),
    Column("job_id", String(200), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_seq", BigInteger, nullable=False),
)

billing_weights = Table(
    "billing_weights",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("accelerator_type", String(16), primary_key=True),
    Column("weight", String(16), nullable=False),
    Column("set_at", String(32), nullable=False),
)
