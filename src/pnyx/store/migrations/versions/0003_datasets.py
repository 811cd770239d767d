"""datasets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("license", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest_artifact", sa.String(length=64), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("shard_count", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.Column("added_at", sa.String(length=32), nullable=False),
        sa.Column("added_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "version"),
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_versions_manifest_sha256", ["manifest_sha256"], unique=False
        )
    op.create_table(
        "dataset_shards",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("checked_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("dataset", "version", "position"),
    )
    with op.batch_alter_table("dataset_shards", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_shards_sha256", ["sha256"], unique=False)
    op.create_table(
        "dataset_removals",
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("affected_runs", sa.Text(), nullable=False),
        sa.Column("affected_basis", sa.String(length=16), nullable=False),
        sa.Column("removed_at", sa.String(length=32), nullable=False),
        sa.Column("removed_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "to_version", "record_sha256"),
    )


def downgrade() -> None:
    op.drop_table("dataset_removals")
    with op.batch_alter_table("dataset_shards", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_shards_sha256")
    op.drop_table("dataset_shards")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_versions_manifest_sha256")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
