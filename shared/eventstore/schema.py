"""The tables every service database holds: the event log (which is the outbox) and progress."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")

events = sa.Table(
    "events",
    metadata,
    # Assigned by the store under the position lock, never by a sequence: dense, gap-free.
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("data", JsonDocument, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correlation_id", sa.Uuid, nullable=False),
    sa.Column("causation_id", sa.Uuid, nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
)

# One row (id = 1) whose lock serialises position assignment; see docs/architecture.md.
event_positions = sa.Table(
    "event_positions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last", sa.BigInteger, nullable=False),
)

relay_progress = sa.Table(
    "relay_progress",
    metadata,
    sa.Column("relay", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

consumer_checkpoints = sa.Table(
    "consumer_checkpoints",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("producer", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
