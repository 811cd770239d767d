"""ledger: leaf-hash lookup by a bucketed key; only even tree levels stored

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 21:30:00.000000

The full-hash index ``ix_events_leaf_hash`` (every append batch rewrote random pages across an
index of the whole log) gives way to ``events.leaf_key`` = ``(seq >> 12) << 32 | hash[:4]``.
``tree_nodes`` keeps only the complete subtrees at even levels >= 2: level 0 is
``events.leaf_hash`` already, and an odd level is hashed from its two children when needed.
On SQLite ``tree_nodes`` becomes a WITHOUT ROWID table (one B-tree, not a rowid table plus its
key index).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BUCKET_BITS = 12  # as pnyx.store.eventstore.LEAF_BUCKET_BITS (frozen here: a migration)


def _key(seq: int, leaf_hash: bytes) -> int:
    return ((seq >> _BUCKET_BITS) << 32) | int.from_bytes(leaf_hash[:4], "big")


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    op.drop_index("ix_events_leaf_hash", table_name="events")
    op.add_column(
        "events", sa.Column("leaf_key", sa.BigInteger(), nullable=False, server_default="0")
    )
    rows = conn.execute(sa.text("SELECT seq, leaf_hash FROM events")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE events SET leaf_key = :k WHERE seq = :s"),
            [{"k": _key(int(seq), bytes(h)), "s": seq} for seq, h in rows],
        )
    if not sqlite:  # SQLite cannot drop a default; it is never used (every insert sets it)
        op.alter_column("events", "leaf_key", server_default=None)
    op.create_index("ix_events_leaf_key", "events", ["leaf_key"], unique=False)
    op.execute("DELETE FROM tree_nodes WHERE level = 0 OR level % 2 = 1")
    if sqlite:
        _rebuild_tree_nodes("WITHOUT ROWID")


def downgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        _rebuild_tree_nodes("")
    _restore_levels(conn)
    op.drop_index("ix_events_leaf_key", table_name="events")
    op.drop_column("events", "leaf_key")
    op.create_index("ix_events_leaf_hash", "events", ["leaf_hash"], unique=False)


def _restore_levels(conn: sa.Connection) -> None:
    """Level 0 from the events and every odd level from its children, bottom up."""
    conn.execute(
        sa.text("INSERT INTO tree_nodes (level, idx, hash) SELECT 0, seq, leaf_hash FROM events")
    )
    level = 1
    while True:
        below = conn.execute(
            sa.text("SELECT idx, hash FROM tree_nodes WHERE level = :l ORDER BY idx"),
            {"l": level - 1},
        ).all()
        if len(below) < 2:
            return
        if level % 2:
            pairs = [
                {"l": level, "i": below[k][0] // 2, "h": _node(below[k][1], below[k + 1][1])}
                for k in range(0, len(below) - 1, 2)
            ]
            conn.execute(
                sa.text("INSERT INTO tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"), pairs
            )
        level += 1


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + bytes(left) + bytes(right)).digest()


def _rebuild_tree_nodes(options: str) -> None:
    op.execute(
        "CREATE TABLE tree_nodes_new (level SMALLINT NOT NULL, idx BIGINT NOT NULL,"
        f" hash BLOB NOT NULL, PRIMARY KEY (level, idx)) {options}"
    )
    op.execute(
        "INSERT INTO tree_nodes_new (level, idx, hash) SELECT level, idx, hash FROM tree_nodes"
    )
    op.execute("DROP TABLE tree_nodes")
    op.execute("ALTER TABLE tree_nodes_new RENAME TO tree_nodes")
