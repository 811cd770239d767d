"""runs and models

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(length=80), nullable=False),
        sa.Column("job_id", sa.String(length=80), nullable=True),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("award_id", sa.String(length=80), nullable=True),
        sa.Column("resolution_id", sa.String(length=80), nullable=True),
        sa.Column("containment", sa.String(length=8), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("order_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=80), nullable=False),
        sa.Column("world_size", sa.Integer(), nullable=False),
        sa.Column("hardware", sa.String(length=200), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("datasets", sa.Text(), nullable=False),
        sa.Column("metric_points", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("last_loss", sa.Float(), nullable=True),
        sa.Column("registered_at", sa.String(length=32), nullable=False),
        sa.Column("registered_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_runs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "run_datasets",
        sa.Column("run_id", sa.String(length=80), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "dataset", "version"),
    )
    with op.batch_alter_table("run_datasets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_datasets_dataset_version", ["dataset", "version"], unique=False
        )

    op.create_table(
        "run_metrics",
        sa.Column("run_id", sa.String(length=80), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("tokens_per_s", sa.Float(), nullable=True),
        sa.Column("mfu", sa.Float(), nullable=True),
        sa.Column("lr", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "step"),
    )

    op.create_table(
        "model_versions",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=80), nullable=False),
        sa.Column("license", sa.String(length=64), nullable=False),
        sa.Column("containment", sa.String(length=8), nullable=False),
        sa.Column("params", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("card_sha256", sa.String(length=64), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("released_at", sa.String(length=32), nullable=True),
        sa.Column("release_gate", sa.Text(), nullable=True),
        sa.Column("release_resolution_id", sa.String(length=80), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.String(length=32), nullable=False),
        sa.Column("registered_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_run_id"), ["run_id"], unique=False)

    op.create_table(
        "model_evals",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("evaluated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "suite"),
    )


def downgrade() -> None:
    op.drop_table("model_evals")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_run_id"))
    op.drop_table("model_versions")
    op.drop_table("run_metrics")
    with op.batch_alter_table("run_datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_run_datasets_dataset_version")
    op.drop_table("run_datasets")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_project_id"))
        batch_op.drop_index(batch_op.f("ix_runs_job_id"))
    op.drop_table("runs")
