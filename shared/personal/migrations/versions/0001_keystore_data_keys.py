"""Creates data_keys: one wrapped data key per person, kept (nulled) once destroyed.

Revision ID: keystore_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "keystore_0001"
down_revision = None
branch_labels = ("keystore",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("person_id", sa.Text(), primary_key=True),
        sa.Column("algorithm", sa.Text(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("master_key_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(wrapped_key IS NULL) = (destroyed_at IS NOT NULL)",
            name="ck_data_keys_destroyed_means_no_key",
        ),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
