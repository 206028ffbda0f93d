"""PostgreSQL: appends take typed arrays; a batch is appended set-based, a lone request plainly.

Revision ID: es0003
Revises: es0002

`carepair_append_batch(jsonb)` made the server parse every request as JSON and run two
statements per request; measured on the bench machine, parsing and looping cost more than
the inserts. `carepair_append_events` takes the batch as parallel typed arrays, which the
driver sends in binary (only each event's data is JSON), and does one probe query and one
insert for the whole batch. The server draws the event ids (`gen_random_uuid()`, built in
since PostgreSQL 13). The guarantees are the same: the position row's lock is taken
first and held until the call commits, and each later statement sees every earlier commit.

`carepair_append_stream` appends one request with four plain statements: for a single request
it measured cheaper than the set-based function, and a lone request is the common case when
the service is quiet.

A batch call holds at most one request per stream (the store never puts two in one batch); the
function refuses a call that breaks this rather than deciding it wrongly.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "es0003"
down_revision = "es0002"
branch_labels = None
depends_on = None

APPEND_EVENTS = """
CREATE OR REPLACE FUNCTION carepair_append_events(
    p_stream_ids text[], p_expected integer[], p_counts integer[],
    p_correlation_ids uuid[], p_causation_ids uuid[], p_actors text[],
    p_event_types text[], p_schema_versions integer[], p_datas jsonb[],
    OUT versions integer[], OUT firsts bigint[]
)
LANGUAGE plpgsql
-- The plan is the same for every batch; planning it per call would cost more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_last bigint;
    v_added bigint;
    v_now timestamptz := clock_timestamp();
BEGIN
    IF cardinality(p_stream_ids) <> (SELECT count(DISTINCT s) FROM unnest(p_stream_ids) AS s) THEN
        RAISE EXCEPTION 'carepair_append_events takes at most one request per stream'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) AS c) <> cardinality(p_event_types) THEN
        RAISE EXCEPTION 'carepair_append_events: the request counts do not add up to the events'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The lock that keeps positions dense and unskippable: held until this call commits.
    UPDATE event_positions SET last = last WHERE id = 1 RETURNING last INTO v_last;
    WITH requests AS (
        SELECT r.n, r.stream_id, r.expected, r.count, r.correlation_id, r.causation_id, r.actor,
               -- where the request's events start in the event arrays (rejected ones included)
               sum(r.count) OVER (ORDER BY r.n) - r.count AS event_offset,
               coalesce((SELECT max(e.stream_version) FROM events AS e
                          WHERE e.stream_id = r.stream_id), 0) AS current
        FROM unnest(p_stream_ids, p_expected, p_counts, p_correlation_ids, p_causation_ids,
                    p_actors)
             WITH ORDINALITY AS r(stream_id, expected, count, correlation_id, causation_id, actor, n)
    ), checked AS (
        SELECT q.*, (q.expected = -1 OR q.expected = q.current) AS accepted FROM requests AS q
    ), placed AS (
        -- each accepted request's events take the next positions, in request order
        SELECT c.*, v_last + coalesce(sum(c.count) FILTER (WHERE c.accepted)
                   OVER (ORDER BY c.n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS base
        FROM checked AS c
    ), inserted AS (
        INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                            schema_version, data, occurred_at, recorded_at, correlation_id,
                            causation_id, actor)
        SELECT p.base + (e.i - p.event_offset), gen_random_uuid(), p.stream_id,
               p.current + (e.i - p.event_offset), e.event_type, e.schema_version, e.data,
               v_now, v_now, p.correlation_id, p.causation_id, p.actor
        FROM unnest(p_event_types, p_schema_versions, p_datas)
             WITH ORDINALITY AS e(event_type, schema_version, data, i)
        JOIN placed AS p ON e.i > p.event_offset AND e.i <= p.event_offset + p.count
        WHERE p.accepted
    )
    -- per request: the stream's version after it (or now, if rejected) and its first
    -- position (0 if rejected: the expected version did not match)
    SELECT array_agg(CASE WHEN p.accepted THEN p.current + p.count ELSE p.current END ORDER BY p.n),
           array_agg(CASE WHEN p.accepted THEN p.base + 1 ELSE 0 END ORDER BY p.n),
           coalesce(sum(p.count) FILTER (WHERE p.accepted), 0)
      INTO versions, firsts, v_added
      FROM placed AS p;
    UPDATE event_positions SET last = v_last + v_added WHERE id = 1;
END
$$;
"""

APPEND_STREAM = """
CREATE OR REPLACE FUNCTION carepair_append_stream(
    p_stream_id text, p_expected integer, p_correlation_id uuid, p_causation_id uuid,
    p_actor text,
    p_event_types text[], p_schema_versions integer[], p_datas jsonb[],
    OUT version integer, OUT first bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v_current integer;
    v_count integer := cardinality(p_event_types);
    v_now timestamptz := clock_timestamp();
BEGIN
    -- The same lock as the batch function, held until this call commits.
    UPDATE event_positions SET last = last WHERE id = 1 RETURNING last INTO v_last;
    SELECT coalesce(max(e.stream_version), 0) INTO v_current
      FROM events AS e WHERE e.stream_id = p_stream_id;
    IF p_expected <> -1 AND p_expected <> v_current THEN
        version := v_current;  -- rejected: the stream's version now, and no position
        first := 0;
        RETURN;
    END IF;
    INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
                        schema_version, data, occurred_at, recorded_at, correlation_id,
                        causation_id, actor)
    SELECT v_last + e.i, gen_random_uuid(), p_stream_id, v_current + e.i, e.event_type,
           e.schema_version, e.data, v_now, v_now, p_correlation_id, p_causation_id, p_actor
    FROM unnest(p_event_types, p_schema_versions, p_datas)
         WITH ORDINALITY AS e(event_type, schema_version, data, i);
    UPDATE event_positions SET last = v_last + v_count WHERE id = 1;
    version := v_current + v_count;
    first := v_last + 1;
END
$$;
"""

DROP_APPEND_STREAM = (
    "DROP FUNCTION IF EXISTS carepair_append_stream("
    "text, integer, uuid, uuid, text, text[], integer[], jsonb[])"
)

DROP_APPEND_EVENTS = (
    "DROP FUNCTION IF EXISTS carepair_append_events("
    "text[], integer[], integer[], uuid[], uuid[], text[], text[], integer[], jsonb[])"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_EVENTS)
        op.execute(APPEND_STREAM)
        op.execute("DROP FUNCTION IF EXISTS carepair_append_batch(jsonb)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_APPEND_EVENTS)
        op.execute(DROP_APPEND_STREAM)
        op.execute(_previous_revision().APPEND_BATCH)


def _previous_revision():  # type: ignore[no-untyped-def]
    path = Path(__file__).with_name("0002_append_function.py")
    spec = importlib.util.spec_from_file_location("carepair_es0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
