"""Registries and read models of the pairing service.

Revision ID: pa0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "pa0001"
down_revision = None
branch_labels = ("pairing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "active_pairings",
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("pairing_id", sa.Uuid(), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id"),
        sa.UniqueConstraint("pairing_id"),
    )
    op.create_index(op.f("ix_active_pairings_cadre_id"), "active_pairings", ["cadre_id"], unique=False)
    op.create_index(
        op.f("ix_active_pairings_household_id"), "active_pairings", ["household_id"], unique=False
    )
    op.create_table(
        "cadre_fingerprints",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
        sa.UniqueConstraint("cadre_id"),
    )
    op.create_table(
        "cadre_holdings",
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id"),
    )
    op.create_table(
        "cadre_index",
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id"),
    )
    op.create_index(op.f("ix_cadre_index_unit_id"), "cadre_index", ["unit_id"], unique=False)
    op.create_table(
        "pairing_history",
        sa.Column("pairing_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("pairing_id"),
    )
    op.create_index(op.f("ix_pairing_history_cadre_id"), "pairing_history", ["cadre_id"], unique=False)
    op.create_index(op.f("ix_pairing_history_subject_id"), "pairing_history", ["subject_id"], unique=False)
    op.create_index(op.f("ix_pairing_history_unit_id"), "pairing_history", ["unit_id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("pairing_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("review_id"),
    )
    op.create_index(op.f("ix_reviews_subject_id"), "reviews", ["subject_id"], unique=False)
    op.create_table(
        "rule_overrides",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("pairing_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("cadre_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_table(
        "subject_fingerprints",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
        sa.UniqueConstraint("subject_id"),
    )
    op.create_table(
        "subject_index",
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("outside_province", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("waiting_since", sa.Date(), nullable=True),
        sa.Column("waiting_unit", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("subject_id"),
    )
    op.create_index(op.f("ix_subject_index_household_id"), "subject_index", ["household_id"], unique=False)
    op.create_index(op.f("ix_subject_index_township_code"), "subject_index", ["township_code"], unique=False)


def downgrade() -> None:
    for table in [
        "subject_fingerprints",
        "cadre_fingerprints",
        "cadre_holdings",
        "active_pairings",
        "subject_index",
        "cadre_index",
        "pairing_history",
        "rule_overrides",
        "reviews",
    ]:
        op.drop_table(table)
