"""Changes dated ahead (retirements, transfers, endings) that wait for their day.

Revision ID: pa0004
Revises: pa0003
"""

import sqlalchemy as sa
from alembic import op

revision = "pa0004"
down_revision = "pa0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: no change could be scheduled before this table existed.
    op.create_table(
        "scheduled_changes",
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "owner_id"),
    )
    op.create_index(
        op.f("ix_scheduled_changes_effective_on"), "scheduled_changes", ["effective_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_changes_effective_on"), table_name="scheduled_changes")
    op.drop_table("scheduled_changes")
