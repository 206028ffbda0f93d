"""What PostgreSQL itself allows: durable single-row INSERT commits without carepair in the way."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import psycopg
from sqlalchemy.engine import URL

from bench.infra import dsn
from bench.timing import Measured, Window, run_tasks, summed

CREATE = "CREATE TABLE ceiling (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb)"
INSERT_ASYNCPG = "INSERT INTO ceiling (stream_id, data) VALUES ($1, $2::jsonb)"
INSERT_PSYCOPG = "INSERT INTO ceiling (stream_id, data) VALUES (%s, %s::jsonb)"


async def asyncpg_inserts(
    url: URL, data: dict[str, Any], connections: int, seconds: float, warmup: float
) -> Measured:
    """Each task owns a connection and commits one autocommitted INSERT after another."""
    conns = [await asyncpg.connect(dsn(url)) for _ in range(connections)]
    await conns[0].execute(CREATE)
    text = json.dumps(data)
    try:

        async def writer(index: int, window: Window) -> None:
            conn, stream_id = conns[index], f"stream-{index}"
            while not window.stopping:
                began = time.perf_counter()
                await conn.execute(INSERT_ASYNCPG, stream_id, text)
                window.record(began)

        return summed(await run_tasks(writer, connections, seconds, warmup))
    finally:
        for conn in conns:
            await conn.close()


async def psycopg_inserts(
    url: URL, data: dict[str, Any], connections: int, seconds: float, warmup: float
) -> Measured:
    """The same through psycopg 3's asyncio connections (prepared after the first few)."""
    conns = [
        await psycopg.AsyncConnection.connect(dsn(url), autocommit=True)
        for _ in range(connections)
    ]
    await conns[0].execute(CREATE)
    text = json.dumps(data)
    try:

        async def writer(index: int, window: Window) -> None:
            conn, stream_id = conns[index], f"stream-{index}"
            while not window.stopping:
                began = time.perf_counter()
                await conn.execute(INSERT_PSYCOPG, (stream_id, text))
                window.record(began)

        return summed(await run_tasks(writer, connections, seconds, warmup))
    finally:
        for conn in conns:
            await conn.close()


_LOCK = "UPDATE event_positions SET last = last WHERE id = 1 RETURNING last"
_VERSIONS = (
    "SELECT stream_id, max(stream_version) FROM events"
    " WHERE stream_id = ANY($1::text[]) GROUP BY stream_id"
)
_INSERT = (
    "INSERT INTO events (position, event_id, stream_id, stream_version, event_type,"
    " schema_version, data, occurred_at, recorded_at, correlation_id, causation_id, actor)"
    " VALUES ($1, $2, $3, $4, 'VisitRecorded', 1, $5::jsonb, $6, $6, $7, NULL, 'bench')"
)
_ADVANCE = "UPDATE event_positions SET last = $1 WHERE id = 1"


async def asyncpg_store_shape(
    url: URL, data: dict[str, Any], per_commit: int, seconds: float, warmup: float
) -> Measured:
    """carepair's append transaction written straight on asyncpg, `per_commit` events a time.

    The same statements as `SqlEventStore._commit` (lock the position row, read the streams'
    versions, insert, advance the position, commit) on the event-store tables, without
    SQLAlchemy or the store's queue: what the design costs before the code around it.
    """
    conn = await asyncpg.connect(dsn(url))
    text = json.dumps(data)
    streams = [f"shape-{i}" for i in range(per_commit)]
    try:

        async def writer(_index: int, window: Window) -> None:
            while not window.stopping:
                began = time.perf_counter()
                async with conn.transaction():
                    last = await conn.fetchval(_LOCK)
                    found = dict(await conn.fetch(_VERSIONS, streams))
                    now = datetime.now(UTC)
                    rows = [
                        (last + i + 1, uuid.uuid4(), s, (found.get(s) or 0) + 1, text, now,
                         uuid.uuid4())
                        for i, s in enumerate(streams)
                    ]
                    await conn.executemany(_INSERT, rows)
                    await conn.execute(_ADVANCE, last + per_commit)
                for _ in streams:
                    window.record(began)

        window = await run_tasks(writer, 1, seconds, warmup)
    finally:
        await conn.close()
    return summed(window, {"events_per_commit": per_commit})
