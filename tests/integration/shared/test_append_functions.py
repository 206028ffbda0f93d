"""PostgreSQL's append functions: what they refuse, effects in their transaction, and cancelled callers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database import migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS, NO_STREAM, Metadata, StoreClosed, StoreUnavailable
from tests.support.contracts import thing
from tests.support.stores import sql_store

pytestmark = pytest.mark.postgres

META = Metadata(actor="tester")


async def _connect(url: URL) -> asyncpg.Connection:
    migrate(url, [EVENTSTORE_MIGRATIONS])
    return await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))


def _batch(stream_ids: list[str], counts: list[int], events: int) -> tuple[object, ...]:
    n = len(stream_ids)
    return (
        stream_ids, [NO_STREAM] * n, counts, [uuid.uuid4()] * n, [None] * n, ["tester"] * n,
        ["ThingHappened"] * events, [1] * events, ['{"n": 1}'] * events,
    )


@pytest.mark.parametrize(
    ("stream_ids", "counts", "refusal"),
    [
        (["s-1", "s-1"], [1, 1], "one request per stream"),
        (["s-1", "s-2"], [1, 2], "do not add up"),  # two events sent, three counted
    ],
)
async def test_the_batch_function_refuses_a_malformed_batch_and_writes_nothing(
    pg_url: URL, stream_ids: list[str], counts: list[int], refusal: str
) -> None:
    conn = await _connect(pg_url)
    try:
        with pytest.raises(asyncpg.InvalidParameterValueError, match=refusal):
            await conn.fetchrow(
                "SELECT * FROM carepair_append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                *_batch(stream_ids, counts, 2),
            )
        assert await conn.fetchval("SELECT count(*) FROM events") == 0
        assert await conn.fetchval("SELECT last FROM event_positions") == 0
    finally:
        await conn.close()


async def test_the_batch_function_places_each_requests_events_in_order(pg_url: URL) -> None:
    conn = await _connect(pg_url)
    try:
        versions, firsts = await conn.fetchrow(
            "SELECT * FROM carepair_append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ["a", "b", "c"], [0, 0, 0], [2, 0, 3], [uuid.uuid4()] * 3, [None] * 3, ["t"] * 3,
            ["A1", "A2", "C1", "C2", "C3"], [1] * 5, [f'{{"n": {n}}}' for n in range(5)],
        )
        assert versions == [2, 0, 3]
        assert firsts == [1, 3, 3]  # the empty request takes no position
        rows = await conn.fetch(
            "SELECT position, stream_id, stream_version, event_type FROM events ORDER BY position"
        )
        assert [tuple(r) for r in rows] == [
            (1, "a", 1, "A1"), (2, "a", 2, "A2"),
            (3, "c", 1, "C1"), (4, "c", 2, "C2"), (5, "c", 3, "C3"),
        ]
        assert await conn.fetchval("SELECT last FROM event_positions") == 5
    finally:
        await conn.close()


async def test_the_lock_function_reads_each_streams_version_in_the_order_given(pg_url: URL) -> None:
    conn, other = await _connect(pg_url), await _connect(pg_url)
    try:
        await conn.fetchrow(
            "SELECT * FROM carepair_append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            *_batch(["a", "b"], [3, 1], 4),
        )
        async with conn.transaction():
            last, versions = await conn.fetchrow(
                "SELECT last, versions FROM carepair_lock_streams($1)", ["b", "new", "a"]
            )
            assert (last, versions) == (4, [1, 0, 3])
            # The positions row stays locked until the transaction ends.
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute("SELECT last FROM event_positions WHERE id = 1 FOR UPDATE NOWAIT")
        await other.execute("SELECT last FROM event_positions WHERE id = 1 FOR UPDATE NOWAIT")
    finally:
        await conn.close()
        await other.close()


async def test_an_effect_runs_under_the_positions_lock_after_the_check_and_before_the_insert(
    pg_url: URL,
) -> None:
    async with sql_store(pg_url) as store:
        await store.append("watched", NO_STREAM, [thing(0)], META)
        outsider = await _connect(pg_url)
        seen: dict[str, object] = {}

        async def look(conn: object) -> None:
            assert isinstance(conn, AsyncConnection)
            query = sa.text("SELECT count(*) FROM events WHERE stream_id = 'watched'")
            seen["events of its stream"] = (await conn.execute(query)).scalar_one()
            try:
                await outsider.execute("SELECT last FROM event_positions WHERE id = 1 FOR UPDATE NOWAIT")
            except asyncpg.LockNotAvailableError:
                seen["positions locked"] = True
            else:
                seen["positions locked"] = False

        try:
            results = await asyncio.gather(
                store.append("plain", NO_STREAM, [thing(1)], META),
                store.append("watched", 1, [thing(2), thing(3)], META, effect=look),
            )
        finally:
            await outsider.close()
        assert seen == {"events of its stream": 1, "positions locked": True}
        assert [r.positions for r in results] == [(2,), (3, 4)]
        assert dict(store.commits_by_path) == {"function": 2}


async def test_a_caller_cancelled_mid_append_leaves_the_store_working_and_dense(pg_url: URL) -> None:
    async with sql_store(pg_url) as store:
        for turns in range(8):
            task = asyncio.create_task(store.append(f"cancelled-{turns}", NO_STREAM, [thing(turns)], META))
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            kept = await store.append(f"kept-{turns}", NO_STREAM, [thing(turns)], META)
            assert kept.stream_version == 1
        last = await store.last_position()
        stored = await store.read_after(0, limit=100)
        # Each cancelled append either committed whole or not at all; no position is missing.
        assert [e.position for e in stored] == list(range(1, last + 1))
        assert {e.stream_id for e in stored} >= {f"kept-{n}" for n in range(8)}


async def test_appends_queued_behind_a_caller_cancelled_while_gathering_still_commit(pg_url: URL) -> None:
    async def race() -> None:
        async with sql_store(pg_url) as store:
            await store.append("warm-up", NO_STREAM, [thing(0)], META)  # makes the person's key
            # Created in one turn: the leader queues first and yields to gather the others, who
            # queue behind it; it is cancelled before it comes back to commit them.
            leader = asyncio.create_task(store.append("leader", NO_STREAM, [thing(0)], META))
            followers = [
                asyncio.create_task(store.append(f"follower-{n}", NO_STREAM, [thing(n)], META))
                for n in range(5)
            ]
            await asyncio.sleep(0)
            leader.cancel()
            results = await asyncio.wait_for(asyncio.gather(*followers), timeout=10)
            assert all(r.stream_version == 1 for r in results)

    await race()


async def _nothing(_: object) -> None:
    return None


@pytest.mark.parametrize("effect", [None, _nothing], ids=["without effects", "with effects"])
@pytest.mark.parametrize(
    "writers", [1, 3], ids=["a lone append, committed by its caller", "a batch, in a task of its own"]
)
async def test_closing_while_the_database_holds_a_write_gives_up_and_answers_every_caller(
    pg_url: URL, writers: int, effect: Any
) -> None:
    async with sql_store(pg_url) as store:
        await store.append("before", NO_STREAM, [thing(0)], META)
        blocker = await _connect(pg_url)
        try:
            async with blocker.transaction():
                await blocker.execute("SELECT last FROM event_positions WHERE id = 1 FOR UPDATE")
                stuck = [
                    asyncio.create_task(
                        store.append(f"stuck-{n}", NO_STREAM, [thing(n)], META, effect=effect)
                    )
                    for n in range(writers)
                ]
                await asyncio.sleep(0.2)  # the commit now waits for the lock this test holds
                await store.close(timeout=0.5)
                outcomes = await asyncio.wait_for(asyncio.gather(*stuck, return_exceptions=True), 10)
        finally:
            await blocker.close()
        expected = (StoreClosed, StoreUnavailable, asyncio.CancelledError)
        assert all(isinstance(o, expected) for o in outcomes), outcomes
        with pytest.raises(StoreClosed):
            await store.append("after", NO_STREAM, [thing(9)], META)
