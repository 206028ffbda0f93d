"""The compliance tally counts each logged contact and visit once, however the events are batched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from services.reporting.adapters.tables import pairing_year_tallies
from services.reporting.projections import COMPLIANCE
from shared.contracts import CONTRACTS
from shared.contracts.visits import ContactMode, VisitLogged
from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS, NO_STREAM, Metadata, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging.projection import ProjectionRunner
from shared.personal import MemoryKeyStore, PayloadSealer

REPORTING_MIGRATIONS = Path(__file__).parents[3] / "services" / "reporting" / "migrations" / "versions"
A, B = uuid.UUID(int=1), uuid.UUID(int=2)
LOGGED = [
    (A, ContactMode.phone, date(2026, 1, 5)),
    (A, ContactMode.home, date(2025, 12, 30)),
    (A, ContactMode.sms, date(2026, 2, 1)),
    (B, ContactMode.phone, date(2026, 2, 2)),
    (A, ContactMode.home, date(2026, 3, 1)),
    (A, ContactMode.wechat, date(2026, 4, 1)),
    (B, ContactMode.letter, date(2026, 4, 2)),
    (A, ContactMode.institution, date(2026, 5, 1)),
    (A, ContactMode.letter, date(2026, 6, 1)),
    (B, ContactMode.wechat, date(2026, 6, 2)),
]
# (pairing, year) → (contacts, visits), counted by hand from LOGGED.
EXPECTED = {(A, 2026): (4, 2), (A, 2025): (0, 1), (B, 2026): (3, 0)}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ProjectionRunner, list[StoredEvent]]]:
    url: URL = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    migrate(url, [EVENTSTORE_MIGRATIONS, REPORTING_MIGRATIONS])
    engine = create_engine_for(url)
    sealer = PayloadSealer(MemoryKeyStore())
    store = SqlEventStore(engine, "visits", sealer)
    await store.start()
    for n, (pairing, mode, day) in enumerate(LOGGED):
        visit = VisitLogged(
            visit_id=uuid.UUID(int=100 + n),
            pairing_id=pairing,
            subject_id=f"s-{pairing.int}",
            cadre_id="c-1",
            mode=mode,
            happened_on=day,
            record="电话询问近况",
        )
        await store.append(f"visit-{n}", NO_STREAM, [visit], Metadata(actor="cadre:c-1"))
    events = await store.read_after(0, 100)
    try:
        yield ProjectionRunner(engine, COMPLIANCE, EventOpener(CONTRACTS, sealer)), events
    finally:
        await store.close()
        await engine.dispose()


async def tallies(runner: ProjectionRunner) -> dict[tuple[uuid.UUID, int], tuple[int, int]]:
    t = pairing_year_tallies
    async with runner.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.c.pairing_id, t.c.year, t.c.contacts, t.c.visits))
        return {(p, y): (c, v) for p, y, c, v in rows}


@pytest.mark.parametrize("page", [10, 3, 1])
async def test_each_pairing_year_counts_its_contacts_and_visits_once(
    setup: tuple[ProjectionRunner, list[StoredEvent]], page: int
) -> None:
    runner, events = setup
    await runner.start()
    for start in range(0, len(events), page):
        await runner.apply("visits", events[start : start + page])
    assert await tallies(runner) == EXPECTED
    # A redelivery of the whole stream counts nothing again.
    await runner.apply("visits", events)
    assert await tallies(runner) == EXPECTED
