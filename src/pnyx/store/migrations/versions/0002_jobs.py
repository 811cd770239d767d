"""jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("submitted_seq", sa.BigInteger(), nullable=False),
        sa.Column("submitter", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("award_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("env", sa.Text(), nullable=True),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("accelerators_per_node", sa.Integer(), nullable=False),
        sa.Column("accelerator_types", sa.Text(), nullable=False),
        sa.Column("time_limit_s", sa.BigInteger(), nullable=False),
        sa.Column("containment", sa.String(length=8), nullable=False),
        sa.Column("preemptible", sa.Boolean(), nullable=False),
        sa.Column("checkpoint_signal", sa.String(length=8), nullable=True),
        sa.Column("grace_s", sa.Integer(), nullable=False),
        sa.Column("datasets", sa.Text(), nullable=False),
        sa.Column("workdir", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=True),
        sa.Column("accelerator_type", sa.String(length=16), nullable=True),
        sa.Column("backend_job_id", sa.String(length=200), nullable=True),
        sa.Column("allocated_nodes", sa.Text(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=True),
        sa.Column("ended_at", sa.String(length=32), nullable=True),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
        sa.UniqueConstraint("submitted_seq"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_state_cluster", ["state", "cluster"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "job_history",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_history_job_id"), ["job_id"], unique=False)

    op.create_table(
        "job_logs",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )


def downgrade() -> None:
    op.drop_table("job_logs")
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_history_job_id"))
    op.drop_table("job_history")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_project_id"))
        batch_op.drop_index("ix_jobs_state_cluster")
    op.drop_table("jobs")
