"""What PostgreSQL itself allows: durable single-row INSERT commits without carepair in the way."""

from __future__ import annotations

import json
import time
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
