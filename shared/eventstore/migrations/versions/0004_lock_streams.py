"""PostgreSQL: one call that takes the positions lock and reads the versions of a batch's streams.

Revision ID: es0004
Revises: es0003

A batch whose requests carry effects (writes that commit in the append's transaction) opens
a transaction, takes the positions lock, reads the versions of its streams, runs the effects
of the requests whose version matched, and then calls `carepair_append_events` (or
`carepair_append_stream`) in the same transaction. `carepair_lock_streams` does the first two
steps in one round trip. Its two statements run one after the other, each with a snapshot of
its own, so the probe sees every append committed before the lock was granted; one statement
holding both would read with a snapshot taken before it waited for the lock.

The probe has the shape of the append functions' (one index probe per stream), which keeps its
plan when it is cached.
"""

from alembic import op

revision = "es0004"
down_revision = "es0003"
branch_labels = None
depends_on = None

LOCK_STREAMS = """
CREATE OR REPLACE FUNCTION carepair_lock_streams(
    p_stream_ids text[], OUT last bigint, OUT versions integer[]
)
LANGUAGE plpgsql AS $$
BEGIN
    -- The lock that keeps positions dense and unskippable: held until the caller's
    -- transaction ends.
    UPDATE event_positions SET last = event_positions.last WHERE id = 1
        RETURNING event_positions.last INTO last;
    -- per stream, in the order given: its version (0 if it has no event yet)
    SELECT array_agg(coalesce((SELECT max(e.stream_version) FROM events AS e
                                WHERE e.stream_id = s.stream_id), 0) ORDER BY s.n)
      INTO versions
      FROM unnest(p_stream_ids) WITH ORDINALITY AS s(stream_id, n);
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOCK_STREAMS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS carepair_lock_streams(text[])")
