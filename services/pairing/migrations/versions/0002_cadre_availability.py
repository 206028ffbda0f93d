"""Whether each cadre can take a pairing, kept with the cadre's own events.

Revision ID: pa0002
Revises: pa0001
"""

import sqlalchemy as sa
from alembic import op

revision = "pa0002"
down_revision = "pa0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cadre_availability",
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id"),
    )
    # Cadres registered before this table existed: derive it from the read model.
    op.execute(
        "INSERT INTO cadre_availability (cadre_id, available) "
        "SELECT cadre_id, status IN ('active', 'retired_continuing') FROM cadre_index"
    )


def downgrade() -> None:
    op.drop_table("cadre_availability")
