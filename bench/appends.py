"""Durable appends, one event per command: carepair's store against eventsourcing's recorder."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as upsert_into
from sqlalchemy.engine import URL

from bench.timing import Measured, Window, run_tasks, run_threads, summed
from bench.workload import META, VisitRecorded, open_store, visit
from shared.eventstore import NO_STREAM
from shared.personal import PayloadSealer

# The registry an effect keeps in step with the appends, as the pairing service keeps its
# ID-number and household registries: one row per stream, written in the append's transaction.
REGISTRY = sa.Table(
    "bench_registry",
    sa.MetaData(),
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


def registry_effect(stream_id: str, version: int) -> Any:
    """An effect of one statement: claims or moves the stream's registry row."""
    upsert = upsert_into(REGISTRY).values(stream_id=stream_id, version=version)
    upsert = upsert.on_conflict_do_update(index_elements=[REGISTRY.c.stream_id], set_={"version": version})

    async def apply(conn: Any) -> None:
        await conn.execute(upsert)

    return apply


async def carepair_appends(
    url: URL, sealer: PayloadSealer, writers: int, seconds: float, warmup: float, *, effect: bool = False
) -> Measured:
    """`writers` tasks, each appending one event at a time to its own stream and awaiting it.

    Each append checks the stream's expected version, as a command handler's would. With
    `effect`, each append also carries an effect that upserts one registry row.
    """
    async with open_store(url, sealer) as store:
        if effect:
            async with store.engine.begin() as conn:
                await conn.run_sync(REGISTRY.create)

        async def writer(index: int, window: Window) -> None:
            stream_id = f"visit-{index}-{uuid.uuid4().hex[:8]}"
            version = NO_STREAM
            while not window.stopping:
                began = time.perf_counter()
                result = await store.append(
                    stream_id,
                    version,
                    [visit(stream_id)],
                    META,
                    effect=registry_effect(stream_id, version + 1) if effect else None,
                )
                window.record(began)
                version = result.stream_version

        batches, events = store.batches_committed, store.events_committed
        window = await run_tasks(writer, writers, seconds, warmup)
        batches = store.batches_committed - batches
        events = store.events_committed - events
    return summed(window, {"events_per_commit": round(events / max(batches, 1), 2)})


async def recorder_appends(url: URL, threads: int, seconds: float, warmup: float) -> Measured:
    """eventsourcing's PostgreSQL application recorder: `insert_events` of one event per call.

    One thread per writer (the library is synchronous), each on its own aggregate, through a
    `PostgresDatastore` pool with a connection per thread. The event's state is the same
    payload as JSON, serialised per call but not encrypted.
    """
    return await asyncio.to_thread(_recorder_appends, url, threads, seconds, warmup)


def _recorder_appends(url: URL, threads: int, seconds: float, warmup: float) -> Measured:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    datastore = PostgresDatastore(
        dbname=str(url.database),
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        pool_size=threads,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        topic = f"bench:{VisitRecorded.__name__}"

        def writer(_index: int, window: Window) -> None:
            originator_id = uuid.uuid4()
            version = 0
            while not window.stopping:
                began = time.perf_counter()
                state = visit(str(originator_id)).model_dump_json().encode()
                version += 1
                recorder.insert_events([StoredEvent(originator_id, version, topic, state)])
                window.record(began)

        return summed(run_threads(writer, threads, seconds, warmup))
    finally:
        datastore.close()
