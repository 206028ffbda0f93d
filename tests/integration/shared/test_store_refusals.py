"""What one write cannot do to the others: too large, unstorable, or a connection lost under it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore import (
    NO_STREAM,
    EventTooLarge,
    Metadata,
    StoreUnavailable,
    UnstorableEvent,
)
from shared.eventstore.memory import MemoryEventStore
from shared.eventstore.sql import SqlEventStore
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.support.contracts import ThingRenamed, thing
from tests.support.stores import Claims, sql_store

META = Metadata(actor="tester")
LIMIT = 4096


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryEventStore("testsvc", PayloadSealer(MemoryKeyStore()), max_event_bytes=LIMIT)
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with sql_store(url, max_event_bytes=LIMIT) as s:
        yield s


def renamed(title: str) -> ThingRenamed:
    return ThingRenamed(thing="t", title=title)


async def test_an_event_above_the_limit_is_refused_and_nothing_is_written(store: Any) -> None:
    with pytest.raises(EventTooLarge, match=f"at most {LIMIT} bytes"):
        await store.append("big", NO_STREAM, [renamed("长" * 2000)], META)
    with pytest.raises(EventTooLarge):
        await store.append("big", NO_STREAM, [thing(1)], Metadata(actor="a" * LIMIT))
    assert await store.read_stream("big") == []
    result = await store.append("big", NO_STREAM, [renamed("短")], META)
    assert result.positions == (1,)


async def test_a_nul_character_is_refused_and_the_text_backslash_u0000_is_not(store: Any) -> None:
    with pytest.raises(UnstorableEvent):
        await store.append("nul", NO_STREAM, [renamed("a\x00b")], META)
    with pytest.raises(UnstorableEvent):
        await store.append("nul", NO_STREAM, [thing(1)], Metadata(actor="operator:\x00"))
    result = await store.append("nul", NO_STREAM, [renamed("a\\u0000b")], META)
    [event] = await store.read_stream("nul")
    assert event.data["title"] == "a\\u0000b" and result.positions == (1,)


async def test_one_bad_write_among_forty_fails_alone(store: Any) -> None:
    async def write(n: int) -> Any:
        title = "bad\x00" if n == 17 else f"good {n}"
        return await store.append(f"s-{n}", NO_STREAM, [renamed(title)], META)

    outcomes = await asyncio.gather(*(write(n) for n in range(41)), return_exceptions=True)
    failed = [n for n, o in enumerate(outcomes) if isinstance(o, BaseException)]
    assert failed == [17]
    assert isinstance(outcomes[17], UnstorableEvent)
    assert sorted(p for o in outcomes if not isinstance(o, BaseException) for p in o.positions) == list(
        range(1, 41)
    )


REFUSING_FUNCTION = """
CREATE FUNCTION refuse_s5() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_id = 's-5' THEN RAISE EXCEPTION 'no writes to s-5'; END IF;
    RETURN NEW;
END $$
"""
REFUSING_TRIGGER = (
    "CREATE TRIGGER refuse_s5 BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_s5()"
)


async def _nothing(_: AsyncConnection) -> None:
    return None


@pytest.mark.postgres
@pytest.mark.parametrize("with_effect", [False, True], ids=["without effects", "with effects"])
async def test_a_write_the_database_refuses_fails_alone_and_is_not_called_unavailable(
    pg_url: Any, with_effect: bool
) -> None:
    """A refusal no check of the store foresaw fails only its own request, with its own error."""
    async with sql_store(pg_url) as store:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(REFUSING_FUNCTION))
            await conn.execute(sa.text(REFUSING_TRIGGER))

        async def write(n: int) -> Any:
            effect = _nothing if with_effect else None
            return await store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=effect)

        outcomes = await asyncio.gather(*(write(n) for n in range(20)), return_exceptions=True)
        assert [n for n, o in enumerate(outcomes) if isinstance(o, BaseException)] == [5]
        assert not isinstance(outcomes[5], StoreUnavailable)
        assert "no writes to s-5" in str(outcomes[5])
        assert len(await store.read_after(0, 100)) == 19


@pytest.mark.postgres
async def test_a_refused_write_takes_its_effect_with_it_and_leaves_the_others_theirs(pg_url: Any) -> None:
    """The batch is tried again one request at a time: each effect commits with its own events."""
    async with sql_store(pg_url) as store:
        claims = Claims()
        await claims.prepare(store)
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(REFUSING_FUNCTION))
            await conn.execute(sa.text(REFUSING_TRIGGER))

        async def write(n: int) -> Any:
            effect = claims.claim(f"c-{n}") if n % 2 else None
            return await store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=effect)

        outcomes = await asyncio.gather(*(write(n) for n in range(10)), return_exceptions=True)
        assert [n for n, o in enumerate(outcomes) if isinstance(o, BaseException)] == [5]
        assert "no writes to s-5" in str(outcomes[5])
        assert await claims.names(store) == ["c-1", "c-3", "c-7", "c-9"]
        stored = await store.read_after(0, 100)
        assert [e.position for e in stored] == list(range(1, 10))
        assert [e.stream_id for e in stored] == [f"s-{n}" for n in range(10) if n != 5]


@pytest.mark.postgres
async def test_a_connection_lost_in_an_append_with_an_effect_is_store_unavailable_and_recovers(
    pg_url: Any,
) -> None:
    async with sql_store(pg_url) as store:
        killed = False

        async def kill_my_connection(conn: AsyncConnection) -> None:
            nonlocal killed
            if not killed:
                killed = True
                await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))

        async def write(n: int) -> Any:
            return await store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=kill_my_connection)

        outcomes = await asyncio.gather(*(write(n) for n in range(8)), return_exceptions=True)
        assert killed
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert lost, "the connection was terminated, yet every write went through"
        assert all(isinstance(o, StoreUnavailable) for o in lost), [repr(o) for o in lost]
        again = await store.append("after", NO_STREAM, [thing(99)], META, effect=kill_my_connection)
        committed = sum(len(o.positions) for o in outcomes if not isinstance(o, BaseException))
        assert again.positions == (committed + 1,)


async def test_the_sql_store_takes_its_limit_from_its_caller(sqlite_url: Any) -> None:
    async with sql_store(sqlite_url, max_event_bytes=100_000) as store:
        assert isinstance(store, SqlEventStore)
        await store.append("s", NO_STREAM, [renamed("长" * 2000)], META)
