"""Builds each event store backend the same way, for the contract suite and integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import URL

from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS
from shared.eventstore.memory import MemoryEventStore
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
