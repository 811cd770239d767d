"""training-data search indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_indexes",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("shard_sha256", sa.String(length=64), nullable=False),
        sa.Column("index_sha256", sa.String(length=64), nullable=False),
        sa.Column("line_root", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.BigInteger(), nullable=False),
        sa.Column("text_bytes", sa.BigInteger(), nullable=False),
        sa.Column("index_bytes", sa.BigInteger(), nullable=False),
        sa.Column("built_at", sa.String(length=32), nullable=False),
        sa.Column("built_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "version", "shard"),
    )
    with op.batch_alter_table("search_indexes", schema=None) as batch_op:
        batch_op.create_index("ix_search_indexes_shard_sha256", ["shard_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("search_indexes", schema=None) as batch_op:
        batch_op.drop_index("ix_search_indexes_shard_sha256")
    op.drop_table("search_indexes")
