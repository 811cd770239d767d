"""Projection tables of datasets: datasets, their versions (with the manifest), shards, opt-out
removals (hashes only) and failed shard checks."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from pnyx.store.tables import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("dataset", String(64), primary_key=True),
    Column("modality", String(16), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_seq", BigInteger, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("dataset", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("parent", Integer, nullable=True),
    Column("modality", String(16), nullable=False),
    Column("license", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("manifest_artifact", String(64), nullable=False),
    Column("manifest", Text, nullable=False),  # canonical JSON (RFC 8785)
    Column("records", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("shard_count", Integer, nullable=False),
    Column("added_by", String(80), nullable=False),
    Column("added_at", String(32), nullable=False),
    Column("added_seq", BigInteger, nullable=False),
    Index("ix_dataset_versions_manifest_sha256", "manifest_sha256"),
)

dataset_shards = Table(
    "dataset_shards",
    metadata,
    Column("dataset", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("format", String(8), nullable=False),
    Column("problem", Text, nullable=True),  # the last failed check, if any
    Column("checked_seq", BigInteger, nullable=True),
    Index("ix_dataset_shards_sha256", "sha256"),
)

dataset_removals = Table(
    "dataset_removals",
    metadata,
    Column("dataset", String(64), primary_key=True),
    Column("to_version", Integer, primary_key=True),
    Column("record_sha256", String(64), primary_key=True),
    Column("from_version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("affected_runs", Text, nullable=False),  # canonical JSON list
    Column("affected_basis", String(16), nullable=False),
    Column("removed_at", String(32), nullable=False),
    Column("removed_seq", BigInteger, nullable=False),
)
