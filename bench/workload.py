"""The bench's event, the sealer that encrypts its personal field, and the store it goes into."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from sqlalchemy.engine import URL

from shared.contracts.base import ContractRegistry, EventPayload, Personal
from shared.database import create_engine_for
from shared.eventstore import Metadata
from shared.eventstore.sql import SqlEventStore
from shared.personal import MemoryKeyStore, PayloadSealer

PRODUCER = "bench"
registry = ContractRegistry()


@registry.register(PRODUCER)
class VisitRecorded(EventPayload):
    """A visit-like event: ids, a date, a short note, and one personal field."""

    visit_id: uuid.UUID
    subject_id: str
    cadre_id: str
    visited_on: date
    note: str
    subject_name: Annotated[str, Personal("subject_id")]


META = Metadata(actor="bench")


def visit(subject_id: str) -> VisitRecorded:
    return VisitRecorded(
        visit_id=uuid.uuid4(),
        subject_id=subject_id,
        cadre_id="cadre-0001",
        visited_on=date(2025, 3, 1),
        note="Home visit; school attendance and medication checked.",
        subject_name="王小明",
    )


def build_sealer() -> PayloadSealer:
    """The sealer every scenario shares (an in-memory key store: no key look-up query)."""
    return PayloadSealer(MemoryKeyStore())


@contextlib.asynccontextmanager
async def open_store(url: URL, sealer: PayloadSealer) -> AsyncIterator[SqlEventStore]:
    engine = create_engine_for(url, pool_size=20)
    store = SqlEventStore(engine, PRODUCER, sealer)
    await store.start()
    try:
        yield store
    finally:
        await store.close()
        await engine.dispose()
