"""How the SQL store schedules its batches: halves that take turns, and callers that leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from shared.eventstore import NO_STREAM, Metadata
from shared.eventstore.sql import SqlEventStore
from tests.support.contracts import thing
from tests.support.stores import sql_store

META = Metadata(actor="tester")

Commit = Callable[[list[Any]], Awaitable[list[Any]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SqlEventStore]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with sql_store(url) as s:
        yield s


def wrap_commits(store: SqlEventStore, around: Callable[[list[Any], Commit], Awaitable[list[Any]]]) -> None:
    """Puts `around` between the store and whichever way it commits a batch on this database."""
    for name in ("_commit_by_function", "_commit_with_effects", "_commit_by_statements"):
        inner = getattr(store, name)

        async def wrapped(batch: list[Any], inner: Commit = inner) -> list[Any]:
            return await around(batch, inner)

        setattr(store, name, wrapped)


async def test_sixteen_appends_gathered_at_once_go_as_two_halves_that_take_turns(
    store: SqlEventStore,
) -> None:
    sent: list[tuple[str, ...]] = []  # each batch's streams, in the order they were sent
    log: list[str] = []  # "sent <batch>" and "woke <stream>", in the order they happened

    async def recording(batch: list[Any], inner: Commit) -> list[Any]:
        log.append(f"sent {len(sent)}")
        sent.append(tuple(r.stream_id for r in batch))
        return await inner(batch)

    wrap_commits(store, recording)

    async def writer(n: int) -> None:
        version = NO_STREAM
        for turn in range(3):
            result = await store.append(f"w-{n}", version, [thing(turn)], META)
            log.append(f"woke w-{n}")
            version = result.stream_version

    await asyncio.gather(*(writer(n) for n in range(16)))

    assert (len(sent[0]), len(sent[1])) == (8, 8)
    # The second half is sent before any caller of the first wakes, so the database works on
    # it while they prepare their next appends.
    first_woke = min(log.index(f"woke {stream}") for stream in sent[0])
    assert log.index("sent 1") < first_woke
    # From then on the halves take turns: each later batch is one half's next appends.
    halves = {frozenset(sent[0]), frozenset(sent[1])}
    assert all(frozenset(streams) in halves for streams in sent[2:])
    stored = await store.read_after(0, limit=100)
    assert [e.position for e in stored] == list(range(1, 49))
    for n in range(16):
        assert [e.stream_version for e in await store.read_stream(f"w-{n}")] == [1, 2, 3]


async def test_fewer_appends_than_that_go_as_one_batch(store: SqlEventStore) -> None:
    sizes: list[int] = []

    async def recording(batch: list[Any], inner: Commit) -> list[Any]:
        sizes.append(len(batch))
        return await inner(batch)

    wrap_commits(store, recording)
    await asyncio.gather(*(store.append(f"s-{n}", NO_STREAM, [thing(n)], META) for n in range(15)))
    assert sizes == [15]


async def test_a_caller_cancelled_while_its_batch_commits_leaves_the_others_their_results(
    store: SqlEventStore,
) -> None:
    committing, release = asyncio.Event(), asyncio.Event()

    async def held(batch: list[Any], inner: Commit) -> list[Any]:
        committing.set()
        await release.wait()
        return await inner(batch)

    wrap_commits(store, held)
    callers = [asyncio.create_task(store.append(f"s-{n}", NO_STREAM, [thing(n)], META)) for n in range(3)]
    await committing.wait()
    callers[1].cancel()
    release.set()
    kept = await asyncio.wait_for(asyncio.gather(callers[0], callers[2]), timeout=10)
    assert [r.stream_version for r in kept] == [1, 1]
    with pytest.raises(asyncio.CancelledError):
        await callers[1]
    # The append of the caller who left was in the batch: it stands, and no position is missing.
    assert [e.stream_version for e in await store.read_stream("s-1")] == [1]
    assert [e.position for e in await store.read_after(0, limit=10)] == [1, 2, 3]
    later = await store.append("s-after", NO_STREAM, [thing(9)], META)
    assert later.positions == (4,)


async def _look(conn: Any) -> None:
    await conn.execute(sa.text("SELECT 1"))


async def test_a_batch_with_effects_commits_in_one_transaction_through_the_databases_fast_path(
    store: SqlEventStore,
) -> None:
    """PostgreSQL: effects or not, the append function; SQLite: statement by statement."""
    path = "function" if store.engine.dialect.name == "postgresql" else "statements"
    await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=_look if n % 3 else None)
          for n in range(9))
    )
    assert dict(store.commits_by_path) == {path: 1}
    await store.append("lone", NO_STREAM, [thing(9)], META, effect=_look)
    await store.append("plain", NO_STREAM, [thing(10)], META)
    assert dict(store.commits_by_path) == {path: 3}
    assert [e.position for e in await store.read_after(0, limit=100)] == list(range(1, 12))


async def test_sixteen_appends_with_effects_also_go_as_two_halves(store: SqlEventStore) -> None:
    path = "function" if store.engine.dialect.name == "postgresql" else "statements"
    await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=_look) for n in range(16))
    )
    assert (store.batches_committed, store.events_committed) == (2, 16)
    assert dict(store.commits_by_path) == {path: 2}
    assert [e.position for e in await store.read_after(0, limit=100)] == list(range(1, 17))
