"""Several writers hold their commits open for random times while a reader tails the log.

The reader only ever asks for "everything after the last position I saw". If a lower position
could commit after a higher one became visible, the reader would pass over it; this test
shows it never does, and that positions stay dense although some appends roll back.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from shared.eventstore import NO_STREAM, ConcurrencyConflict, Metadata
from tests.support.contracts import thing
from tests.support.stores import sql_store

WRITERS = 4
APPENDS_PER_WRITER = 40


async def _writer(store: Any, writer: int, rng: random.Random) -> int:
    committed = 0
    for n in range(APPENDS_PER_WRITER):
        hold = rng.uniform(0, 0.01)

        async def hold_open(_conn: Any, hold: float = hold) -> None:
            await asyncio.sleep(hold)  # the transaction stays open while we sleep

        stream = f"w{writer}-{n}"
        if rng.random() < 0.15:
            # A conflicting append: it must roll back without leaving a hole.
            await store.append(stream, NO_STREAM, [thing(n)], Metadata(actor="w"))
            with pytest.raises(ConcurrencyConflict):
                await store.append(stream, NO_STREAM, [thing(n)], Metadata(actor="w"), effect=hold_open)
            committed += 1
            continue
        # Half the appends hold their transaction open; the other half take PostgreSQL's
        # one-call path, so both ways of appending interleave across the three stores.
        effect = hold_open if n % 2 else None
        await store.append(stream, NO_STREAM, [thing(n)], Metadata(actor="w"), effect=effect)
        committed += 1
    return committed


async def _tail(store: Any, stop: asyncio.Event, seen: list[int]) -> None:
    last = 0
    while True:
        # Told to stop before this read: the read sees every commit, so an empty page ends it.
        # (Checked after an empty read, a stop could come between the two and lose the last.)
        stopping = stop.is_set()
        page = await store.read_after(last, limit=50)
        for event in page:
            seen.append(event.position)
            last = event.position
        if not page:
            if stopping:
                return
            await asyncio.sleep(0.001)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_tailing_reader_sees_every_position_once_in_order(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    rng = random.Random(20261129)
    async with sql_store(url) as first, sql_store(url) as second, sql_store(url) as third:
        # Three store instances stand for three processes: each has its own writer and pool.
        stores = [first, second, third, first]
        reader = second
        stop = asyncio.Event()
        seen: list[int] = []
        tail = asyncio.create_task(_tail(reader, stop, seen))
        counts = await asyncio.gather(
            *(_writer(stores[w], w, random.Random(rng.random())) for w in range(WRITERS))
        )
        stop.set()
        await tail
        total = sum(counts)
        assert seen == list(range(1, total + 1))
        assert await reader.last_position() == total
