"""Builds each event store backend the same way, for the contract suite and integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS
from shared.eventstore.memory import MemoryEventStore
from shared.eventstore.ports import Effect
from shared.eventstore.sql import SqlEventStore
from shared.personal import MemoryKeyStore, PayloadSealer


@asynccontextmanager
async def sql_store(
    url: URL, producer: str = "testsvc", sealer: PayloadSealer | None = None, **options: Any
) -> AsyncIterator[SqlEventStore]:
    migrate(url, [EVENTSTORE_MIGRATIONS])
    engine = create_engine_for(url)
    store = SqlEventStore(engine, producer, sealer or PayloadSealer(MemoryKeyStore()), **options)
    await store.start()
    try:
        yield store
    finally:
        await store.close()
        await engine.dispose()


@asynccontextmanager
async def memory_store(
    producer: str = "testsvc", sealer: PayloadSealer | None = None
) -> AsyncIterator[MemoryEventStore]:
    yield MemoryEventStore(producer, sealer or PayloadSealer(MemoryKeyStore()))


class ClaimTaken(Exception):
    """A second claim of a name: the effect's own refusal of its append."""


class Claims:
    """A registry that effects keep in step with appends, as a service keeps its rule registries.

    A claim is a unique name. On the SQL stores it is a row of `claims`, written on the store's
    connection in the append's transaction (a second claim of a name is the database's
    `IntegrityError`, which aborts what it ran in); on the in-memory store, which passes
    `None`, it is a set. `ran` lists every claim an effect started, in order.
    """

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.ran: list[str] = []

    async def prepare(self, store: Any) -> None:
        if isinstance(store, SqlEventStore):
            async with store.engine.begin() as conn:
                await conn.execute(sa.text("CREATE TABLE claims (name TEXT PRIMARY KEY)"))

    def claim(self, name: str, *, then_fail: Exception | None = None) -> Effect:
        """An effect that claims `name`, then raises `then_fail` if given (the claim written)."""

        async def effect(conn: Any) -> None:
            self.ran.append(name)
            if conn is None:  # the in-memory store: nothing to undo, so it fails before it holds
                if name in self.held:
                    raise ClaimTaken(name)
                if then_fail is not None:
                    raise then_fail
                self.held.add(name)
                return
            try:
                await conn.execute(sa.text("INSERT INTO claims (name) VALUES (:name)"), {"name": name})
            except IntegrityError:
                raise ClaimTaken(name) from None
            if then_fail is not None:
                raise then_fail

        return effect

    async def names(self, store: Any) -> list[str]:
        """The claims that committed, in name order."""
        if isinstance(store, SqlEventStore):
            async with store.engine.connect() as conn:
                query = sa.text("SELECT name FROM claims ORDER BY name")
                return list((await conn.execute(query)).scalars())
        return sorted(self.held)
