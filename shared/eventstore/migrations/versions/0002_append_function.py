"""PostgreSQL: one server-side function that appends a whole group-commit batch.

Revision ID: es0002
Revises: es0001

The function does what `SqlEventStore._commit` does statement by statement (lock the
position row, check each request's expected version, insert, move the counter), but in a
single round trip that commits on its own. SQLite keeps the statement-by-statement path.
"""

from alembic import op

revision = "es0002"
down_revision = "es0001"
branch_labels = None
depends_on = None

APPEND_BATCH = """
CREATE OR REPLACE FUNCTION carepair_append_batch(requests jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v_current integer;
    v_expected integer;
    v_count integer;
    v_request jsonb;
    v_results jsonb := '[]'::jsonb;
    v_now timestamptz := clock_timestamp();
BEGIN
    -- The lock that keeps positions dense and unskippable: held until this statement commits.
    UPDATE event_positions SET last = last WHERE id = 1 RETURNING last INTO v_last;
    FOR v_request IN SELECT value FROM jsonb_array_elements(requests) LOOP
        SELECT coalesce(max(stream_version), 0) INTO v_current
            FROM events WHERE stream_id = v_request->>'stream_id';
        v_expected := (v_request->>'expected')::integer;
        IF v_expected <> -1 AND v_expected <> v_current THEN
            v_results := v_results || jsonb_build_array(jsonb_build_object('conflict', v_current));
            CONTINUE;
        END IF;
        v_count := jsonb_array_length(v_request->'events');
        INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                            schema_version, data, occurred_at, recorded_at, correlation_id,
                            causation_id, actor)
        SELECT v_last + e.ordinality, (e.value->>'event_id')::uuid, v_request->>'stream_id',
               v_current + e.ordinality, e.value->>'event_type',
               (e.value->>'schema_version')::integer, e.value->'data', v_now, v_now,
               (v_request->>'correlation_id')::uuid, (v_request->>'causation_id')::uuid,
               v_request->>'actor'
        FROM jsonb_array_elements(v_request->'events') WITH ORDINALITY AS e;
        v_results := v_results || jsonb_build_array(
            jsonb_build_object('version', v_current + v_count, 'first', v_last + 1,
                               'recorded_at', v_now));
        v_last := v_last + v_count;
    END LOOP;
    UPDATE event_positions SET last = v_last WHERE id = 1;
    RETURN v_results;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_BATCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS carepair_append_batch(jsonb)")
