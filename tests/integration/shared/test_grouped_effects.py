"""Neighbouring effects that can run together (`GroupedEffect`) do, and mean what they mean alone.

A run of registrations in one batch claims its names in one statement instead of one each.
Whatever the grouping, the outcome must be that of running each effect in turn: a claim taken
by a committed row or by an earlier request of the batch refuses its own request only, a
failure leaves nothing behind, and an effect that cannot run together still runs in its place
between the groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from shared.eventstore import NO_STREAM, Metadata
from shared.eventstore.ports import GroupedEffect
from shared.eventstore.sql import SqlEventStore
from tests.support.contracts import thing
from tests.support.stores import ClaimTaken, sql_store

META = Metadata(actor="tester")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SqlEventStore]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with sql_store(url) as s:
        async with s.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE claims (name TEXT PRIMARY KEY, seq INTEGER)"))
        yield s


class Registry:
    """Claims of unique names, each alone or a run at once; records how they ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.seq = 0
        self.fail_together = False

    def claim(self, name: str) -> GroupedEffect:
        registry = self

        class Claim:
            together = registry.together

            def __init__(self) -> None:
                self.name = name

            async def __call__(self, conn: Any) -> None:
                registry.calls.append(("alone", (name,)))
                await registry.insert(conn, [name])

        return Claim()

    async def insert(self, conn: Any, names: Sequence[str]) -> set[str]:
        won: set[str] = set()
        for name in names:  # in order, each refusing the names taken, as the database would
            self.seq += 1
            taken = await conn.execute(sa.text("SELECT 1 FROM claims WHERE name = :n"), {"n": name})
            if taken.first() is not None:
                if len(names) == 1:
                    raise ClaimTaken(name)
                continue
            await conn.execute(sa.text("INSERT INTO claims VALUES (:n, :s)"), {"n": name, "s": self.seq})
            won.add(name)
        return won

    async def together(self, conn: Any, effects: Sequence[Any]) -> list[Exception | None]:
        names = tuple(e.name for e in effects)
        self.calls.append(("together", names))
        if self.fail_together:
            raise RuntimeError("a run that cannot be decided at once")
        won = await self.insert(conn, names)
        return [None if e.name in won else ClaimTaken(e.name) for e in effects]


async def look(conn: Any) -> None:
    """An effect that cannot run together with others: it splits the runs around it."""
    await conn.execute(sa.text("SELECT 1"))


async def claims(store: SqlEventStore) -> list[str]:
    async with store.engine.connect() as conn:
        return list((await conn.execute(sa.text("SELECT name FROM claims ORDER BY seq"))).scalars())


async def test_a_run_claims_at_once_and_refuses_only_what_running_alone_refuses(store: SqlEventStore) -> None:
    registry = Registry()
    await store.append("first", NO_STREAM, [thing(0)], META, effect=registry.claim("taken"))
    registry.calls.clear()
    effects: list[Any] = [
        registry.claim("a"),
        registry.claim("taken"),  # committed before: refused
        registry.claim("b"),
        look,  # splits the run
        registry.claim("a"),  # taken earlier in this batch: refused
        registry.claim("c"),
    ]
    outcomes = await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=e) for n, e in enumerate(effects)),
        return_exceptions=True,
    )
    refused = [n for n, o in enumerate(outcomes) if isinstance(o, BaseException)]
    assert refused == [1, 4]
    assert all(isinstance(outcomes[n], ClaimTaken) for n in refused)
    assert await claims(store) == ["taken", "a", "b", "c"]
    stored = [e.stream_id for e in await store.read_after(1, limit=100)]
    assert stored == ["s-0", "s-2", "s-3", "s-5"]  # a refused request leaves no event either
    if store.engine.dialect.name == "postgresql":
        assert registry.calls == [("together", ("a", "taken", "b")), ("together", ("a", "c"))]
    else:  # SQLite takes each request alone, in a savepoint of its own
        assert all(kind == "alone" for kind, _ in registry.calls)


async def test_a_run_that_cannot_be_decided_at_once_is_run_one_by_one(store: SqlEventStore) -> None:
    registry = Registry()
    registry.fail_together = True
    outcomes = await asyncio.gather(
        *(store.append(f"s-{n}", NO_STREAM, [thing(n)], META, effect=registry.claim(name))
          for n, name in enumerate(["x", "y", "x"])),
        return_exceptions=True,
    )
    assert [isinstance(o, ClaimTaken) for o in outcomes] == [False, False, True]
    assert await claims(store) == ["x", "y"]
    assert [e.stream_id for e in await store.read_after(0, limit=100)] == ["s-0", "s-1"]
