"""A batch writes the pairing read models exactly as the same events one at a time do, once only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pairing.adapters.tables import (
    cadre_index,
    pairing_history,
    reviews,
    rule_overrides,
    scheduled_changes,
    subject_index,
)
from services.pairing.projections import PAIRING_INDEX
from shared.contracts import CONTRACTS
from shared.contracts.pairing import (
    CadreDepartureScheduled,
    CadreReassigned,
    CadreRetired,
    CadreTransferred,
    PairingEnded,
    PairingEndScheduled,
    PairingReviewDecided,
    PairingReviewOpened,
    ReassignmentNeeded,
    SubjectExited,
    SubjectPaired,
)
from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging.projection import Gap, Projection, ProjectionRunner
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.support.pairing_history import Phase, append_history, programme_history
from tests.support.pairing_world import PAIRING_MIGRATIONS

TABLES = (subject_index, cadre_index, pairing_history, rule_overrides, reviews, scheduled_changes)
SUBJECTS = 240


class History:
    def __init__(
        self, engine: AsyncEngine, opener: EventOpener, phases: list[Phase], events: list[StoredEvent]
    ):
        self.engine, self.opener, self.phases, self.events = engine, opener, phases, events

    def payloads(self, kind: type) -> list[Any]:
        return [e for phase in self.phases for _, events in phase for e in events if isinstance(e, kind)]

    async def rebuild(self, projection: Projection, page: int) -> dict[str, list[tuple[Any, ...]]]:
        """Empties the read models, applies every event in pages of `page`, returns every row."""
        async with self.engine.begin() as conn:
            for table in TABLES:
                await conn.execute(sa.delete(table))
            await conn.execute(
                sa.text("DELETE FROM consumer_checkpoints WHERE consumer = :c"), {"c": projection.name}
            )
        runner = ProjectionRunner(self.engine, projection, self.opener)
        await runner.start()
        for start in range(0, len(self.events), page):
            await runner.apply("pairing", self.events[start : start + page])
        assert runner.position("pairing") == self.events[-1].position
        return await rows(self.engine)


async def rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return {
            table.name: sorted((tuple(r) for r in await conn.execute(sa.select(table))), key=repr)
            for table in TABLES
        }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def history(request: pytest.FixtureRequest) -> AsyncIterator[History]:
    url: URL = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    migrate(url, [EVENTSTORE_MIGRATIONS, PAIRING_MIGRATIONS])
    engine = create_engine_for(url)
    sealer = PayloadSealer(MemoryKeyStore())
    store = SqlEventStore(engine, "pairing", sealer)
    await store.start()
    phases = programme_history(SUBJECTS)
    count = await append_history(store, phases)
    events = await store.read_after(0, count + 1)
    assert len(events) == count
    try:
        yield History(engine, EventOpener(CONTRACTS, sealer), phases, events)
    finally:
        await store.close()
        await engine.dispose()


async def test_the_history_holds_every_event_type_the_read_models_follow(history: History) -> None:
    assert {e.event_type for e in history.events} == PAIRING_INDEX.event_types


async def test_batches_of_any_size_leave_the_rows_that_one_event_at_a_time_leaves(history: History) -> None:
    one_by_one = await history.rebuild(PAIRING_INDEX.one_by_one(), page=len(history.events))
    for page in (len(history.events), 100, 13):
        assert await history.rebuild(PAIRING_INDEX, page) == one_by_one, f"pages of {page}"


async def test_a_rebuild_in_one_batch_holds_what_the_history_says(history: History) -> None:
    tables = await history.rebuild(PAIRING_INDEX, page=len(history.events))
    paired = history.payloads(SubjectPaired)
    moved = history.payloads(CadreReassigned)
    ended = {e.pairing_id: e for e in history.payloads(PairingEnded)}
    assert len(tables["pairing_history"]) == len(paired) + len(moved)
    assert len(tables["subject_index"]) == SUBJECTS
    history_rows = {r[0]: r for r in tables["pairing_history"]}
    for event in ended.values():
        assert history_rows[event.pairing_id][6:] == (event.effective_on, "operator")
    for event in moved:
        assert history_rows[event.previous_pairing_id][6:] == (event.effective_on, "reassigned")
        assert history_rows[event.pairing_id][2] == event.to_cadre_id
    # Waiting: queued by a retirement and not re-paired (nor exited) since.
    exited = {e.subject_id for e in history.payloads(SubjectExited)}
    queued = {e.subject_id for e in history.payloads(ReassignmentNeeded)}
    waiting = queued - {e.subject_id for e in moved} - exited
    subject_rows = {r[0]: r for r in tables["subject_index"]}
    assert {s for s, r in subject_rows.items() if r[9] is not None} == waiting
    assert {s for s, r in subject_rows.items() if r[8] == "exited"} == exited
    # Reviews: decided keep, closed by an exit, or still open.
    decided = {e.review_id for e in history.payloads(PairingReviewDecided)}
    for review in history.payloads(PairingReviewOpened):
        decision = {r[0]: r[6] for r in tables["reviews"]}[review.review_id]
        if review.review_id in decided:
            assert decision == "keep"
        else:
            assert decision == ("closed" if review.subject_id in exited else None)
    # Dated ahead and not yet made: scheduled ends not ended (nor exited), departures neither
    # made nor overtaken by a retirement.
    retired = {e.cadre_id for e in history.payloads(CadreRetired)}
    transferred = {e.cadre_id for e in history.payloads(CadreTransferred)}
    pending = {
        ("subject", e.subject_id)
        for e in history.payloads(PairingEndScheduled)
        if e.pairing_id not in ended and e.subject_id not in exited
    } | {
        ("cadre", e.cadre_id)
        for e in history.payloads(CadreDepartureScheduled)
        if e.cadre_id not in retired | transferred
    }
    assert {(r[0], r[1]) for r in tables["scheduled_changes"]} == pending
    assert pending and waiting and exited and decided  # the history reaches each case


async def test_a_batch_applied_twice_has_one_effect_and_a_gap_has_none(history: History) -> None:
    once = await history.rebuild(PAIRING_INDEX, page=len(history.events))
    runner = ProjectionRunner(history.engine, PAIRING_INDEX, history.opener)
    await runner.start()
    assert await runner.apply("pairing", history.events) == history.events[-1].position
    assert await rows(history.engine) == once
    await history.rebuild(PAIRING_INDEX, page=len(history.events) // 2 + 1)
    async with history.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM consumer_checkpoints WHERE consumer = 'pairing-index'"))
    runner = ProjectionRunner(history.engine, PAIRING_INDEX, history.opener)
    await runner.start()
    before = await rows(history.engine)
    with pytest.raises(Gap):
        await runner.apply("pairing", history.events[5:])
    assert await rows(history.engine) == before
    assert runner.position("pairing") == 0
