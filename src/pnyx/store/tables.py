"""SQLAlchemy Core tables: the event log (source of truth) and the projections (rebuildable).

Projection tables are listed in :data:`PROJECTION_TABLES`; ``pnyx admin replay`` rebuilds exactly
those from the events and compares them row by row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

# INTEGER PRIMARY KEY is SQLite's rowid: appends stay cheap.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

# --- the log: source of truth -----------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("entry", Text, nullable=False),  # canonical JSON: the ledger leaf data
    Column("leaf_hash", LargeBinary(32), nullable=False),  # the tree's level 0 (store.tree)
    # Lookup by leaf hash: (seq >> 12) << 32 | the hash's first 4 bytes. Appends touch only
    # the last bucket's few index pages, not random pages across an index of the whole log
    # (an index on leaf_hash itself did: store.eventstore.leaf_key).
    Column("leaf_key", BigInteger, nullable=False, index=True),
)

event_private = Table(
    "event_private",
    metadata,
    Column("seq", SEQ, ForeignKey("events.seq"), primary_key=True, autoincrement=False),
    Column("salt", LargeBinary(32), nullable=False),
    Column("payload", Text, nullable=False),  # canonical JSON of the private fields
)

log_state = Table(
    "log_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
)

# Complete subtrees at even levels >= 2 only (store.tree): level 0 is events.leaf_hash and an
# odd level is hashed from its two children when a proof needs it.
tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,  # one B-tree (not a rowid table plus its primary-key index)
)

for _log_table in (events, event_private, log_state, tree_nodes):
    _log_table.info["log"] = True

# --- projections: identity --------------------------------------------------------------------

members = Table(
    "members",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("admitted_at", String(32), nullable=False),
    Column("admitted_seq", BigInteger, nullable=False),
)

principals = Table(
    "principals",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("roles", String(200), nullable=False),  # comma-separated, sorted
    Column("member_id", String(64), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("created_seq", BigInteger, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("principal_id", String(64), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("issued_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)

principal_keys = Table(
    "principal_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("principal_id", String(64), nullable=False, index=True),
    Column("public_key", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("registered_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)


def projection_tables() -> list[Table]:
    """Tables rebuilt from the events, in dependency order (tables marked ``log`` excluded)."""
    import pnyx.store.schema  # noqa: F401  (registers every table module)

    return [tbl for tbl in metadata.sorted_tables if not tbl.info.get("log")]
