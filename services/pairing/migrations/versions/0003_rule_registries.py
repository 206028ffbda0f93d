"""The registries that rules spanning several records read: each cadre's facts, each household.

`cadre_registry` takes over `cadre_availability` and adds what the rules ask of a cadre;
`household_members` lists the subjects still cared for, by household. Both are written with
the events that change them, so commands never decide on a read model that lags behind.

Revision ID: pa0003
Revises: pa0002
"""

import sqlalchemy as sa
from alembic import op

revision = "pa0003"
down_revision = "pa0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cadre_registry",
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id"),
    )
    op.create_index(op.f("ix_cadre_registry_unit_id"), "cadre_registry", ["unit_id"], unique=False)
    op.create_table(
        "household_members",
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("subject_id"),
    )
    op.create_index(
        op.f("ix_household_members_household_id"), "household_members", ["household_id"], unique=False
    )
    # Records from before these registries: taken from the read models of the same database,
    # which the service applies in-process right after each commit (availability from the
    # registry that held it).
    op.execute(
        "INSERT INTO cadre_registry "
        "(cadre_id, unit_id, kind, gender, tier, title, party_member, links, available) "
        "SELECT i.cadre_id, i.unit_id, i.kind, i.gender, i.tier, i.title, i.party_member, i.links, "
        "COALESCE(a.available, i.status IN ('active', 'retired_continuing')) "
        "FROM cadre_index i LEFT JOIN cadre_availability a ON a.cadre_id = i.cadre_id"
    )
    op.execute(
        "INSERT INTO household_members (subject_id, household_id) "
        "SELECT subject_id, household_id FROM subject_index WHERE status = 'active'"
    )
    op.drop_table("cadre_availability")


def downgrade() -> None:
    op.create_table(
        "cadre_availability",
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id"),
    )
    op.execute(
        "INSERT INTO cadre_availability (cadre_id, available) SELECT cadre_id, available FROM cadre_registry"
    )
    op.drop_index(op.f("ix_household_members_household_id"), table_name="household_members")
    op.drop_table("household_members")
    op.drop_index(op.f("ix_cadre_registry_unit_id"), table_name="cadre_registry")
    op.drop_table("cadre_registry")
