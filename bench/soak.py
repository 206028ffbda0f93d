"""The relay under a long trickle of single-event pages: does the process's memory stay flat?

Each append is relayed as a page of its own (the worst case for per-page costs: a new
subscription per page once grew memory by about 45 MiB in ten minutes). The resident size is
sampled throughout; the result compares the last quarter of the run with the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
import uuid

import nats
from sqlalchemy.engine import URL

from bench.pipeline import stream_settings
from bench.timing import Measured, measured
from bench.workload import META, open_store, visit
from shared.eventstore import NO_STREAM
from shared.messaging.connection import NatsConnection
from shared.messaging.relay import Relay, SqlRelayProgress
from shared.personal import PayloadSealer

_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_mib() -> float:
    """This process's resident set size, in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


async def _relayed(relay: Relay, position: int, timeout: float = 30.0) -> None:
    """Returns once JetStream acknowledged `position`."""
    for _ in range(int(timeout / 0.0005)):
        if relay.position >= position:
            return
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"the relay did not reach {position} within {timeout} s")


async def relay_soak(url: URL, sealer: PayloadSealer, nats_url: str, seconds: float) -> Measured:
    stream = stream_settings("soak")
    connection = NatsConnection(nats_url, "bench-soak")
    samples: list[tuple[float, float]] = []
    async with open_store(url, sealer) as store:
        relay = Relay(store, SqlRelayProgress(store.engine), connection, stream, poll_interval=0.2)
        task = asyncio.create_task(relay.run())
        began = time.perf_counter()
        count = 0
        try:
            while time.perf_counter() - began < seconds:
                # A hundred subjects over and over: the bench's in-memory key store keeps one
                # data key per person for good, which is not what is measured here.
                subject = f"subject-{count % 100}"
                await store.append(f"soak-{uuid.uuid4().hex}", NO_STREAM, [visit(subject)], META)
                count += 1
                await _relayed(relay, count)  # one page per event
                if count % 500 == 0:
                    gc.collect()
                    samples.append((time.perf_counter() - began, resident_mib()))
        finally:
            relay.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
            subscriptions = len((await connection.client())._subs)
            await connection.drain()
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().delete_stream(stream.name)
    finally:
        await client.close()
    quarter = max(len(samples) // 4, 1)
    first = sum(m for _, m in samples[:quarter]) / quarter
    last = sum(m for _, m in samples[-quarter:]) / quarter
    extra = {
        "pages": count,
        "rss_first_quarter_mib": round(first, 1),
        "rss_last_quarter_mib": round(last, 1),
        "rss_growth_mib": round(last - first, 1),
        "nats_subscriptions_at_end": subscriptions,
        "rss_samples_mib": [round(m, 1) for _, m in samples],
    }
    return measured(count, time.perf_counter() - began, extra=extra)
