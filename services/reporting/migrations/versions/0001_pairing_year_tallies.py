"""Contacts and visits per pairing per year.

Revision ID: rp0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "rp0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairing_year_tallies",
        sa.Column("pairing_id", sa.Uuid, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("contacts", sa.Integer, nullable=False),
        sa.Column("visits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pairing_year_tallies")
