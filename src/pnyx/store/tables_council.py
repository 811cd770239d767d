"""Council projections: weight tables, resolutions, ballots and the enacted policy."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from pnyx.store.tables import metadata

weight_tables = Table(
    "weight_tables",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("weights", Text, nullable=False),  # canonical JSON {member: {key: "n"}}
    Column("source", String(80), nullable=False),
    Column("adopted_at", String(32), nullable=False),
    Column("adopted_seq", BigInteger, nullable=False),
)

resolutions = Table(
    "resolutions",
    metadata,
    Column("resolution_id", String(64), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("rule", Text, nullable=False),  # canonical JSON rule mapping
    Column("rule_name", String(64), nullable=False),
    Column("weights_version", Integer, nullable=False),
    Column("opens_at", String(32), nullable=False),
    Column("closes_at", String(32), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_seq", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("passed", Boolean, nullable=True),
    Column("decided_by", String(80), nullable=True),
    Column("tally", Text, nullable=True),  # canonical JSON of the tally
    Column("closed_at", String(32), nullable=True),
    Column("closed_seq", BigInteger, nullable=True),
)

ballots = Table(
    "ballots",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("resolution_id", String(64), nullable=False, index=True),
    Column("member_id", String(64), nullable=False),
    Column("choice", String(8), nullable=False),
    Column("cast_at", String(40), nullable=False),
    Column("principal_id", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(100), nullable=False),
)

programme_shares = Table(
    "programme_shares",
    metadata,
    Column("programme_id", String(64), primary_key=True),
    Column("share", String(64), nullable=False),  # exact fraction text, e.g. "7/20"
    Column("resolution_id", String(64), nullable=False),
    Column("enacted_seq", BigInteger, nullable=False),
)

member_shares = Table(
    "member_shares",
    metadata,
    Column("programme_id", String(64), primary_key=True),
    Column("member_id", String(64), primary_key=True),
    Column("share", String(64), nullable=False),
    Column("resolution_id", String(64), nullable=False),
    Column("enacted_seq", BigInteger, nullable=False),
)

council_rules = Table(
    "council_rules",
    metadata,
    Column("kind", String(40), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("resolution_id", String(64), nullable=False),
)

council_approvals = Table(
    "council_approvals",
    metadata,
    Column("resolution_id", String(64), primary_key=True),
    Column("subject_kind", String(16), nullable=False),  # "project" or "model"
    Column("subject", String(64), nullable=False, index=True),
    Column("level", String(8), nullable=False),
)
