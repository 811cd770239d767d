"""Projection tables of runs and models: runs, their datasets and metrics, model versions and
their evaluation reports."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from pnyx.store.tables import metadata

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(80), primary_key=True),
    Column("job_id", String(80), nullable=True, index=True),
    Column("project_id", String(64), nullable=True, index=True),
    Column("award_id", String(80), nullable=True),
    Column("resolution_id", String(80), nullable=True),
    Column("containment", String(8), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("order_sha256", String(64), nullable=False),
    Column("code_version", String(80), nullable=False),
    Column("world_size", Integer, nullable=False),
    Column("hardware", String(200), nullable=False),
    Column("steps", Integer, nullable=False),
    Column("config", Text, nullable=False),  # canonical JSON
    Column("datasets", Text, nullable=False),  # canonical JSON list
    Column("metric_points", Integer, nullable=False),
    Column("last_step", Integer, nullable=True),
    Column("last_loss", Float, nullable=True),
    Column("registered_at", String(32), nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
)

run_datasets = Table(
    "run_datasets",
    metadata,
    Column("run_id", String(80), primary_key=True),
    Column("dataset", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("manifest_sha256", String(64), nullable=False),
    Index("ix_run_datasets_dataset_version", "dataset", "version"),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("run_id", String(80), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("loss", Float, nullable=True),
    Column("tokens_per_s", Float, nullable=True),
    Column("mfu", Float, nullable=True),
    Column("lr", Float, nullable=True),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", String(80), nullable=False, index=True),
    Column("license", String(64), nullable=False),
    Column("containment", String(8), nullable=False),
    Column("params", BigInteger, nullable=False),
    Column("description", Text, nullable=False),
    Column("lineage", Text, nullable=False),  # canonical JSON
    Column("files", Text, nullable=False),  # canonical JSON list of {path, sha256, bytes}
    Column("card_sha256", String(64), nullable=False),
    Column("released", Boolean, nullable=False),
    Column("released_at", String(32), nullable=True),
    Column("release_gate", Text, nullable=True),  # canonical JSON list
    Column("release_resolution_id", String(80), nullable=True),
    Column("downloads", Integer, nullable=False),  # recorded downloads (non-public only)
    Column("registered_at", String(32), nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
)

model_evals = Table(
    "model_evals",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("suite", String(64), primary_key=True),
    Column("report_sha256", String(64), nullable=False),
    Column("metrics", Text, nullable=False),  # canonical JSON
    Column("evaluated_at", String(32), nullable=False),
)
