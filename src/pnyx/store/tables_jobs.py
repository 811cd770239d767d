"""Projection tables of jobs: one row per job, its state history, the kept tail of its log.

``job_pending`` is not a projection: the dispatcher's latest word on why each queued job waits
(a reservation changes every pass, so it is not an event); replay skips it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from pnyx.store.tables import metadata

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("submitted_seq", BigInteger, nullable=False, unique=True),
    Column("submitter", String(64), nullable=False),
    Column("project_id", String(64), nullable=False, index=True),
    Column("award_id", String(80), nullable=False),
    Column("name", String(200), nullable=True),
    Column("command", Text, nullable=False),  # canonical JSON list
    Column("env", Text, nullable=True),  # canonical JSON object; NULL in a public replay
    Column("nodes", Integer, nullable=False),
    Column("accelerators_per_node", Integer, nullable=False),
    Column("accelerator_types", Text, nullable=False),  # canonical JSON list, preference order
    Column("time_limit_s", BigInteger, nullable=False),
    Column("containment", String(8), nullable=False),
    Column("preemptible", Boolean, nullable=False),
    Column("checkpoint_signal", String(8), nullable=True),
    Column("grace_s", Integer, nullable=False),
    Column("datasets", Text, nullable=False),  # canonical JSON list
    Column("workdir", Text, nullable=True),
    Column("state", String(16), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("cluster", String(64), nullable=True),
    Column("accelerator_type", String(16), nullable=True),
    Column("backend_job_id", String(200), nullable=True),
    Column("allocated_nodes", Text, nullable=False),  # canonical JSON list
    Column("exit_code", Integer, nullable=True),
    Column("cancel_requested", Boolean, nullable=False),
    Column("cancel_reason", Text, nullable=True),
    Column("runs", Integer, nullable=False),  # times it started running (requeues add one)
    Column("submitted_at", String(32), nullable=False),
    Column("started_at", String(32), nullable=True),
    Column("ended_at", String(32), nullable=True),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_jobs_state_cluster", "state", "cluster"),
)

job_history = Table(
    "job_history",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("job_id", String(32), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(32), nullable=False),
)

job_logs = Table(
    "job_logs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("text", Text, nullable=True),  # NULL in a public replay (logs are private)
    Column("size", Integer, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Column("recorded_at", String(32), nullable=False),
)

job_pending = Table(
    "job_pending",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)
job_pending.info["log"] = True  # not rebuilt from the events (see the module docstring)
