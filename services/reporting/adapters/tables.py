"""The reporting read model's tables."""

import sqlalchemy as sa

metadata = sa.MetaData()

pairing_year_tallies = sa.Table(
    "pairing_year_tallies",
    metadata,
    sa.Column("pairing_id", sa.Uuid, primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("contacts", sa.Integer, nullable=False),
    sa.Column("visits", sa.Integer, nullable=False),
)
