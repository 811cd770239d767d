"""Projection table of training-data search indexes: one row per shard of a dataset version."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from pnyx.store.tables import metadata

search_indexes = Table(
    "search_indexes",
    metadata,
    Column("dataset", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("manifest_sha256", String(64), nullable=False),
    Column("shard_sha256", String(64), nullable=False),
    Column("index_sha256", String(64), nullable=False),
    Column("line_root", String(64), nullable=False),
    Column("documents", BigInteger, nullable=False),
    Column("text_bytes", BigInteger, nullable=False),
    Column("index_bytes", BigInteger, nullable=False),
    Column("built_at", String(32), nullable=False),
    Column("built_seq", BigInteger, nullable=False),
    Index("ix_search_indexes_shard_sha256", "shard_sha256"),
)
