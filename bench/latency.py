"""Commit-to-read-model latency at a steady rate: append → relay → JetStream → consumer → row."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from sqlalchemy.engine import URL

from bench.infra import delete_stream
from bench.pipeline import build_relay, read_model, stream_settings
from bench.timing import Measured, measured, percentile
from bench.workload import META, PRODUCER, open_store, visit
from shared.eventstore import NO_STREAM, CommitSignal
from shared.messaging.connection import NatsConnection
from shared.messaging.stream import ensure_stream
from shared.personal import PayloadSealer
from shared.runtime.memory import freeze_startup_objects


async def _watch(signal: CommitSignal, moments: dict[int, float], stop: asyncio.Event) -> None:
    """Notes when each position passes `signal` (woken by the commit that moved it)."""
    seen = signal.position
    while not stop.is_set():
        if await signal.wait_beyond(seen, 0.2):
            now = time.perf_counter()
            latest = signal.position
            for position in range(seen + 1, latest + 1):
                moments[position] = now
            seen = latest


async def steady_latency(
    store_url: URL,
    model_url: URL,
    sealer: PayloadSealer,
    nats_url: str,
    rate: float,
    seconds: float,
) -> Measured:
    """Appends one event (to a new stream) every 1/`rate` s; times each to its read-model row.

    The commit moment is when the store's commit signal fires (just after its transaction
    commits); the visible moment is when the projection's signal fires (just after the
    transaction holding the row and the checkpoint commits). All in one process and loop.
    """
    stream = stream_settings("latency")
    committed: dict[int, float] = {}
    visible: dict[int, float] = {}
    called: dict[int, float] = {}
    stop = asyncio.Event()
    total = int(rate * seconds)
    connection = NatsConnection(nats_url, "bench-latency-relay")
    await ensure_stream(await connection.jetstream(), stream)
    async with (
        open_store(store_url, sealer) as store,
        read_model(model_url, sealer, nats_url, stream) as (runner, _engine),
    ):
        relay = build_relay(store, connection, stream)
        watchers = [
            asyncio.create_task(_watch(store.committed, committed, stop)),
            asyncio.create_task(_watch(runner.signals[PRODUCER], visible, stop)),
        ]
        relay_task = asyncio.create_task(relay.run())
        await asyncio.sleep(1.5)  # the relay and the consumer are connected and waiting
        freeze_startup_objects()  # as a service does once it has started

        async def one() -> None:
            stream_id = f"visit-{uuid.uuid4().hex[:12]}"
            began = time.perf_counter()
            result = await store.append(stream_id, NO_STREAM, [visit(stream_id)], META)
            called[result.last_position] = began

        appends: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            appends.append(asyncio.create_task(one()))
        await asyncio.gather(*appends)
        sent = time.perf_counter() - started
        signal = runner.signals[PRODUCER]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_reach(signal, max(called, default=0)), 10)
        stop.set()
        relay.stop()
        relay_task.cancel()
        for task in (*watchers, relay_task):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await connection.drain()
    await delete_stream(nats_url, stream.name)
    return _summary(committed, visible, called, total, sent)


def _summary(
    committed: dict[int, float],
    visible: dict[int, float],
    called: dict[int, float],
    total: int,
    sent: float,
) -> Measured:
    both = [p for p in committed if p in visible]
    latencies = [visible[p] - committed[p] for p in both]
    end_to_end = [visible[p] - called[p] for p in both if p in called]
    extra: dict[str, Any] = {
        "offered_per_second": round(total / sent, 1),
        "arrived": len(both),
        "lost_or_late": total - len(both),
    }
    if end_to_end:
        extra["append_call_to_visible_p50_ms"] = round(percentile(end_to_end, 50) * 1000, 3)
        extra["append_call_to_visible_p99_ms"] = round(percentile(end_to_end, 99) * 1000, 3)
    return measured(len(both), sent, latencies, extra)


async def _reach(signal: CommitSignal, position: int) -> None:
    while signal.position < position:
        await signal.wait_beyond(signal.position, 1.0)
