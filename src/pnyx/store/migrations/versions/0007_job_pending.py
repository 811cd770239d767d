"""why queued jobs wait (the dispatcher's pending reasons, not a projection)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 21:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_pending",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
        info={"log": True},
    )


def downgrade() -> None:
    op.drop_table("job_pending")
