"""Durable appends, one event per command: carepair's store against eventsourcing's recorder,
and appends that carry an effect."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as upsert_into
from sqlalchemy.engine import URL

from bench.timing import Measured, Window, measured, run_tasks, run_threads, summed
from bench.workload import META, VisitRecorded, open_store, visit
from shared.eventstore import NO_STREAM
from shared.eventstore.sql import SqlEventStore
from shared.personal import PayloadSealer


async def carepair_appends(
    url: URL, sealer: PayloadSealer, writers: int, seconds: float, warmup: float
) -> Measured:
    """`writers` tasks, each appending one event at a time to its own stream and awaiting it.

    Each append checks the stream's expected version, as a command handler's would.
    """
    async with open_store(url, sealer) as store:

        async def writer(index: int, window: Window) -> None:
            stream_id = f"visit-{index}-{uuid.uuid4().hex[:8]}"
            version = NO_STREAM
            while not window.stopping:
                began = time.perf_counter()
                result = await store.append(stream_id, version, [visit(stream_id)], META)
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


# The registry an effect keeps in step with the appends, as the pairing service keeps its
# ID-number and household registries: one row per stream, written in the append's transaction.
REGISTRY = sa.Table(
    "bench_registry",
    sa.MetaData(),
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# What `effect_appends` compares: plain appends, appends with an effect as the store commits
# them, and appends with an effect sent the way the store sent them before it could put them
# through the append function (statement by statement, a savepoint around each effect).
EFFECT_VARIANTS = ("plain", "effect", "effect_by_statements")


def registry_effect(stream_id: str, version: int) -> Any:
    """An effect of one statement: claims or moves the stream's registry row."""
    upsert = upsert_into(REGISTRY).values(stream_id=stream_id, version=version)
    upsert = upsert.on_conflict_do_update(index_elements=[REGISTRY.c.stream_id], set_={"version": version})

    async def apply(conn: Any) -> None:
        await conn.execute(upsert)

    return apply


async def effect_appends(
    url: URL, sealer: PayloadSealer, writers: int, seconds: float, warmup: float, turns: int = 5
) -> dict[str, Measured]:
    """`writers` tasks appending one event at a time, each variant of `EFFECT_VARIANTS` in turns.

    The machine is shared and its speed drifts within seconds, so the variants do not run one
    after the other: each runs `turns` times for `seconds / turns`, in rotation, on one
    database, and its turns are summed. Each turn starts new streams after `warmup / turns`.
    """
    windows: dict[str, list[Window]] = {name: [] for name in EFFECT_VARIANTS}
    commits: dict[str, dict[str, int]] = {name: {} for name in EFFECT_VARIANTS}
    async with contextlib.AsyncExitStack() as stack:
        stores = {name: await stack.enter_async_context(open_store(url, sealer)) for name in EFFECT_VARIANTS}
        async with stores["plain"].engine.begin() as conn:
            await conn.run_sync(REGISTRY.create)
        by_statements = stores["effect_by_statements"]
        # The path the store took for every batch with an effect before; SQLite still takes it.
        by_statements._commit_with_effects = by_statements._commit_by_statements  # type: ignore[method-assign]
        for _ in range(turns):
            for name, store in stores.items():
                writer = _writer(store, effect=name != "plain")
                windows[name].append(await run_tasks(writer, writers, seconds / turns, warmup / turns))
        for name, store in stores.items():
            commits[name] = dict(store.commits_by_path)
    return {
        name: measured(
            sum(len(w.latencies) for w in turns_of),
            sum(w.elapsed for w in turns_of),
            [latency for w in turns_of for latency in w.latencies],
            {"commits_by_path": commits[name], "turns": turns},
        )
        for name, turns_of in windows.items()
    }


def _writer(store: SqlEventStore, *, effect: bool) -> Any:
    async def writer(index: int, window: Window) -> None:
        stream_id = f"visit-{index}-{uuid.uuid4().hex[:8]}"
        version = NO_STREAM
        while not window.stopping:
            began = time.perf_counter()
            apply = registry_effect(stream_id, version + 1) if effect else None
            result = await store.append(stream_id, version, [visit(stream_id)], META, effect=apply)
            window.record(began)
            version = result.stream_version

    return writer
