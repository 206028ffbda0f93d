"""One contract every event store passes: in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from shared.eventstore import ANY_VERSION, NO_STREAM, AppendResult, ConcurrencyConflict, Metadata
from shared.eventstore.opener import EventOpener
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.support.contracts import TEST_CONTRACTS, thing
from tests.support.stores import Claims, ClaimTaken, memory_store, sql_store

META = Metadata(actor="tester")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        async with memory_store() as s:
            yield s
    elif request.param == "sqlite":
        async with sql_store(request.getfixturevalue("sqlite_url")) as s:
            yield s
    else:
        async with sql_store(request.getfixturevalue("pg_url")) as s:
            yield s


async def test_a_new_stream_starts_at_version_one_and_position_one(store: Any) -> None:
    result = await store.append("s-1", NO_STREAM, [thing(1), thing(2)], META)
    assert result.stream_version == 2
    assert result.positions == (1, 2)
    assert await store.last_position() == 2


async def test_appending_with_a_stale_version_is_a_typed_conflict(store: Any) -> None:
    await store.append("s-1", NO_STREAM, [thing(1)], META)
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append("s-1", NO_STREAM, [thing(2)], META)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert [e.stream_version for e in await store.read_stream("s-1")] == [1]


async def test_any_version_skips_the_check(store: Any) -> None:
    await store.append("s-1", NO_STREAM, [thing(1)], META)
    result = await store.append("s-1", ANY_VERSION, [thing(2)], META)
    assert result.stream_version == 2


async def test_a_stream_reads_back_in_order_with_its_envelope(store: Any) -> None:
    meta = Metadata(actor="cadre:7")
    await store.append("s-1", NO_STREAM, [thing(1), thing(2)], meta)
    await store.append("other", NO_STREAM, [thing(9)], meta)
    events = await store.read_stream("s-1")
    assert [e.stream_version for e in events] == [1, 2]
    first = events[0]
    assert first.event_type == "ThingHappened"
    assert first.schema_version == 1
    assert first.stream_id == "s-1"
    assert first.actor == "cadre:7"
    assert first.correlation_id == meta.correlation_id
    assert first.causation_id is None
    assert first.producer == "testsvc"
    assert first.recorded_at.tzinfo is not None
    assert len({e.event_id for e in events}) == 2
    assert [e.stream_version for e in await store.read_stream("s-1", after_version=1)] == [2]


async def test_everything_reads_in_pages_after_a_position(store: Any) -> None:
    for n in range(7):
        await store.append(f"s-{n}", NO_STREAM, [thing(n)], META)
    page = await store.read_after(0, limit=3)
    assert [e.position for e in page] == [1, 2, 3]
    rest = await store.read_after(3, limit=10)
    assert [e.position for e in rest] == [4, 5, 6, 7]
    assert await store.read_after(7) == []


async def test_concurrent_writers_to_one_stream_one_wins_the_others_conflict(store: Any) -> None:
    await store.append("s-1", NO_STREAM, [thing(0)], META)
    results = await asyncio.gather(
        *(store.append("s-1", 1, [thing(n)], META) for n in range(10)), return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(wins) == 1 and len(conflicts) == 9
    assert [e.stream_version for e in await store.read_stream("s-1")] == [1, 2]


async def test_concurrent_appends_take_dense_positions_matching_their_results(store: Any) -> None:
    results = await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n), thing(n)], META) for n in range(50))
    )
    claimed = sorted(p for r in results for p in r.positions)
    assert claimed == list(range(1, 101))
    stored = await store.read_after(0, limit=1000)
    assert [e.position for e in stored] == claimed
    by_position = {e.position: e for e in stored}
    for result in results:
        assert {by_position[p].stream_id for p in result.positions} == {result.stream_id}


async def test_appends_queued_together_for_one_stream_commit_in_call_order(store: Any) -> None:
    # Queued in one turn of the loop: the second depends on the first (expected version 1),
    # so they cannot be decided in one batch; both still commit, in the order they were made.
    first, second, *rest = await asyncio.gather(
        store.append("s-1", NO_STREAM, [thing(1)], META),
        store.append("s-1", 1, [thing(2)], META),
        *(store.append("s-1", ANY_VERSION, [thing(n)], META) for n in range(3, 8)),
    )
    assert (first.stream_version, second.stream_version) == (1, 2)
    assert [r.stream_version for r in rest] == [3, 4, 5, 6, 7]
    assert [e.data["n"] for e in await store.read_stream("s-1")] == [1, 2, 3, 4, 5, 6, 7]


async def test_a_batch_decides_each_request_on_its_own(store: Any) -> None:
    for n in range(10):
        await store.append(f"s-{n}", NO_STREAM, [thing(n)], META)
    results = await asyncio.gather(
        *(store.append(f"s-{n}", 1 if n % 2 == 0 else NO_STREAM, [thing(n), thing(n)], META)
          for n in range(10)),
        return_exceptions=True,
    )
    for n, result in enumerate(results):
        if n % 2 == 0:
            assert not isinstance(result, BaseException) and result.stream_version == 3
        else:
            assert isinstance(result, ConcurrencyConflict) and (result.expected, result.actual) == (0, 1)
    written = sorted(p for r in results if not isinstance(r, BaseException) for p in r.positions)
    assert written == list(range(11, 21))
    assert [e.position for e in await store.read_after(0, limit=100)] == list(range(1, 21))


async def test_personal_fields_are_stored_encrypted_and_open_to_plaintext(store: Any) -> None:
    await store.append("s-1", NO_STREAM, [thing(1, name="李秀英")], META)
    stored = (await store.read_stream("s-1"))[0]
    assert "李秀英" not in repr(stored.data)
    assert stored.data["n"] == 1
    opened = await EventOpener(TEST_CONTRACTS, store.sealer).open(stored)
    assert opened.payload == thing(1, name="李秀英")
    assert not opened.erased


async def test_an_empty_append_changes_nothing(store: Any) -> None:
    result = await store.append("s-1", NO_STREAM, [], META)
    assert result.positions == ()
    assert await store.last_position() == 0


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_an_effect_commits_with_its_append_and_a_failing_one_only_fails_itself(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    async with sql_store(url) as store:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE marks (name TEXT PRIMARY KEY)"))

        async def mark(conn: Any) -> None:
            await conn.execute(sa.text("INSERT INTO marks VALUES ('ok')"))

        async def broken(conn: Any) -> None:
            await conn.execute(sa.text("INSERT INTO marks VALUES ('bad')"))
            raise RuntimeError("the effect failed")

        good, bad = await asyncio.gather(
            store.append("good", NO_STREAM, [thing(1)], META, effect=mark),
            store.append("bad", NO_STREAM, [thing(2)], META, effect=broken),
            return_exceptions=True,
        )
        assert isinstance(bad, RuntimeError)
        assert good.positions == (1,)
        async with store.engine.connect() as conn:
            marks = (await conn.execute(sa.text("SELECT name FROM marks"))).scalars().all()
        assert marks == ["ok"]
        assert [e.stream_id for e in await store.read_after(0)] == ["good"]


async def test_in_one_batch_an_effect_that_raises_refuses_its_own_append_alone(store: Any) -> None:
    """Effects and plain appends mixed: a raising effect, a conflict and a refused claim among them."""
    claims = Claims()
    await claims.prepare(store)
    await store.append("taken", NO_STREAM, [thing(0)], META)
    failure = RuntimeError("the effect failed")
    # Queued in one turn of the loop, on seven streams: one batch on the SQL stores.
    outcomes = await asyncio.gather(
        store.append("a", NO_STREAM, [thing(1)], META, effect=claims.claim("a")),
        store.append("plain-1", NO_STREAM, [thing(2), thing(3)], META),
        store.append("bad", NO_STREAM, [thing(4)], META, effect=claims.claim("bad", then_fail=failure)),
        store.append("taken", NO_STREAM, [thing(5)], META, effect=claims.claim("taken")),
        store.append("b", NO_STREAM, [thing(6)], META, effect=claims.claim("b")),
        store.append("a-again", NO_STREAM, [thing(7)], META, effect=claims.claim("a")),
        store.append("plain-2", ANY_VERSION, [thing(8)], META),
        return_exceptions=True,
    )
    a, plain_1, bad, taken, b, a_again, plain_2 = outcomes
    committed = [r for r in (a, plain_1, b, plain_2) if isinstance(r, AppendResult)]
    assert len(committed) == 4, outcomes
    assert bad is failure  # the effect's own exception, given to its own caller
    assert isinstance(taken, ConcurrencyConflict) and (taken.expected, taken.actual) == (0, 1)
    assert "taken" not in claims.ran  # a conflicting request's effect does not run
    assert isinstance(a_again, ClaimTaken)
    assert await claims.names(store) == ["a", "b"]  # nothing of a refused request's effect remains
    assert [(r.stream_id, r.stream_version, r.positions) for r in committed] == [
        ("a", 1, (2,)),
        ("plain-1", 2, (3, 4)),
        ("b", 1, (5,)),
        ("plain-2", 1, (6,)),
    ]
    stored = await store.read_after(0, limit=100)
    assert [(e.position, e.stream_id) for e in stored] == [
        (1, "taken"), (2, "a"), (3, "plain-1"), (4, "plain-1"), (5, "b"), (6, "plain-2"),
    ]
    assert await store.last_position() == 6
    later = await store.append("bad", NO_STREAM, [thing(9)], META, effect=claims.claim("bad"))
    assert later.positions == (7,)
    assert await claims.names(store) == ["a", "b", "bad"]


async def test_every_effect_failing_commits_nothing_and_the_store_goes_on(store: Any) -> None:
    claims = Claims()
    await claims.prepare(store)

    def failing(n: int) -> Any:
        return claims.claim(f"c-{n}", then_fail=KeyError(n))

    outcomes = await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=failing(n)) for n in range(5)),
        return_exceptions=True,
    )
    assert [type(o) for o in outcomes] == [KeyError] * 5
    assert [o.args for o in outcomes] == [(n,) for n in range(5)]
    assert await store.last_position() == 0 and await claims.names(store) == []
    result = await store.append("s-0", NO_STREAM, [thing(0)], META, effect=claims.claim("c-0"))
    assert result.positions == (1,) and await claims.names(store) == ["c-0"]


async def test_an_old_schema_version_is_upcast_on_read() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from shared.eventstore import StoredEvent

    sealer = PayloadSealer(MemoryKeyStore())
    old = StoredEvent(
        position=1,
        event_id=uuid4(),
        event_type="ThingRenamed",
        schema_version=1,
        stream_id="t",
        stream_version=1,
        occurred_at=datetime.now(UTC),
        recorded_at=datetime.now(UTC),
        correlation_id=uuid4(),
        causation_id=None,
        actor="a",
        producer="testsvc",
        data={"thing": "x", "label": "旧名"},
    )
    opened = await EventOpener(TEST_CONTRACTS, sealer).open(old)
    assert opened.payload.title == "旧名"
    assert opened.schema_version == 2


async def test_many_streams_read_at_once_each_in_order_and_unknown_ones_empty(store: Any) -> None:
    await store.append("s-1", NO_STREAM, [thing(1), thing(2)], META)
    await store.append("s-2", NO_STREAM, [thing(3)], META)
    await store.append("s-1", 2, [thing(4)], META)
    await store.append("s-3", NO_STREAM, [thing(5)], META)
    found = await store.read_streams(["s-2", "s-1", "nobody"])
    assert list(found) == ["s-2", "s-1", "nobody"]
    assert [(e.stream_version, e.position) for e in found["s-1"]] == [(1, 1), (2, 2), (3, 4)]
    assert [e.position for e in found["s-2"]] == [3]
    assert found["nobody"] == []
    assert await store.read_streams([]) == {}
