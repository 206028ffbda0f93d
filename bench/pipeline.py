"""From the store to JetStream and on to a read model: the relay, raw publishing, a consumer."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.timing import Measured, measured
from bench.workload import META, PRODUCER, VisitRecorded, open_store, registry, visit
from shared.database import create_engine_for
from shared.eventstore import NO_STREAM, Envelope, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging.connection import NatsConnection
from shared.messaging.consumer import JetStreamConsumer
from shared.messaging.lease import relay_lease
from shared.messaging.projection import Projection, ProjectionRunner
from shared.messaging.relay import Relay, SqlRelayProgress, encode, headers_for
from shared.messaging.signing import SIGNATURE_HEADER, Verifier, sign
from shared.messaging.stream import StreamSettings
from shared.personal import PayloadSealer

SIGNING_KEY = b"bench-signing-key-0123456789"  # the relay signs, the consumer checks, as in a service


def stream_settings(tag: str) -> StreamSettings:
    suffix = uuid.uuid4().hex[:8]
    return StreamSettings(name=f"BENCH_{tag.upper()}_{suffix}", subject_prefix=f"bench{suffix}")


async def preload(store: SqlEventStore, count: int, per_append: int = 500) -> None:
    """Appends `count` events, `per_append` to a new stream at a time."""
    done = 0
    while done < count:
        stream_id = f"preload-{uuid.uuid4().hex[:12]}"
        size = min(per_append, count - done)
        await store.append(stream_id, NO_STREAM, [visit(stream_id) for _ in range(size)], META)
        done += size


async def relay_drain(
    store: SqlEventStore, nats_url: str, stream: StreamSettings, count: int
) -> Measured:
    """Times a relay, started on a store holding `count` events, until JetStream acked all."""
    connection = NatsConnection(nats_url, "bench-relay")
    relay = build_relay(store, connection, stream)
    began = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        while relay.published < count:  # acknowledged by JetStream and the progress saved
            if task.done():
                task.result()
                raise RuntimeError("the relay stopped before it drained the store")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - began
    finally:
        relay.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await connection.drain()
    return measured(relay.published, elapsed, extra={"page_size": 1000})


def build_relay(store: SqlEventStore, nats: NatsConnection, stream: StreamSettings) -> Relay:
    """The relay as a service runs it: progress and the lease in its database, signing each message."""
    return Relay(
        store,
        SqlRelayProgress(store.engine),
        nats,
        stream,
        lease=relay_lease(store.engine),
        signing_key=SIGNING_KEY,
    )


def signed_headers(event: StoredEvent) -> dict[str, str]:
    """The headers the relay sends with `event`, its signature included."""
    return {**headers_for(event), SIGNATURE_HEADER: sign(SIGNING_KEY, encode(event))}


async def read_all(store: SqlEventStore) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    while page := await store.read_after(events[-1].position if events else 0, 1000):
        events.extend(page)
    return events


async def raw_publish(events: list[StoredEvent], nats_url: str, stream: StreamSettings) -> Measured:
    """nats-py `publish_async` of the relay's very messages to a stream of the same settings."""
    messages = [
        (stream.subject(e.producer, e.event_type), encode(e), signed_headers(e)) for e in events
    ]
    client = await nats.connect(nats_url, name="bench-raw-publish")
    try:
        js = client.jetstream(publish_async_max_pending=8000)
        await js.add_stream(stream.config())
        began = time.perf_counter()
        pending = [
            await js.publish_async(subject, data, headers=headers)
            for subject, data, headers in messages
        ]
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - began
        await js.delete_stream(stream.name)
    finally:
        await client.close()
    size = sum(len(data) for _, data, _ in messages) // max(len(messages), 1)
    return measured(len(messages), elapsed, extra={"message_bytes": size})


visits = sa.Table(
    "bench_visits",
    sa.MetaData(),
    sa.Column("visit_id", sa.Uuid, primary_key=True),
    sa.Column("subject_id", sa.Text, nullable=False),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)


async def _record_visit(conn: AsyncConnection, envelope: Envelope) -> None:
    payload = envelope.payload
    assert isinstance(payload, VisitRecorded)
    await conn.execute(
        sa.insert(visits).values(
            visit_id=payload.visit_id,
            subject_id=payload.subject_id,
            visited_on=payload.visited_on,
            position=envelope.position,
        )
    )


@contextlib.asynccontextmanager
async def read_model(
    url: URL, sealer: PayloadSealer, nats_url: str, stream: StreamSettings
) -> AsyncIterator[tuple[ProjectionRunner, AsyncEngine]]:
    """A projection writing one row per visit, fed by a running `JetStreamConsumer`."""
    engine = create_engine_for(url)
    async with engine.begin() as conn:
        await conn.run_sync(visits.metadata.create_all)
    projection = Projection("bench-visits", (PRODUCER,), {VisitRecorded.event_type: _record_visit})
    runner = ProjectionRunner(engine, projection, EventOpener(registry, sealer))
    await runner.start()
    connection = NatsConnection(nats_url, "bench-consumer")
    # Checking every signature, as a service does.
    verifier = Verifier({PRODUCER: [SIGNING_KEY]})
    consumer = JetStreamConsumer(runner, connection, stream, feeds={}, verifier=verifier)
    task = asyncio.create_task(consumer.run())
    try:
        yield runner, engine
    finally:
        consumer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await connection.drain()
        await engine.dispose()


async def consume(
    url: URL, sealer: PayloadSealer, nats_url: str, stream: StreamSettings, count: int
) -> Measured:
    """Times a consumer applying the `count` events already on `stream` to the read model."""
    began = time.perf_counter()
    async with read_model(url, sealer, nats_url, stream) as (runner, engine):
        signal = runner.signals[PRODUCER]
        while signal.position < count:
            await signal.wait_beyond(signal.position, 1.0)
        elapsed = time.perf_counter() - began
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(sa.func.count()).select_from(visits))).scalar()
    extra: dict[str, Any] = {"rows": rows, "fetch_batch": 500}
    return measured(runner.applied, elapsed, extra=extra)


async def relay_and_consumer(
    store_url: URL, model_url: URL, sealer: PayloadSealer, nats_url: str, count: int
) -> dict[str, Measured]:
    """Pre-loads the store, drains it with the relay, publishes the same raw, then consumes."""
    stream = stream_settings("relay")
    async with open_store(store_url, sealer) as store:
        began = time.perf_counter()
        await preload(store, count)
        loaded = time.perf_counter() - began
        relayed = await relay_drain(store, nats_url, stream, count)
        events = await read_all(store)
    raw = await raw_publish(events, nats_url, stream_settings("raw"))
    consumed = await consume(model_url, sealer, nats_url, stream, count)
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().delete_stream(stream.name)
    finally:
        await client.close()
    return {
        "preload": measured(count, loaded),
        "relay": relayed,
        "raw_publish_async": raw,
        "consumer": consumed,
    }
