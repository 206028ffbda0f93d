"""`Rows`: a batch's rows loaded once, changed in memory, and written back as their last state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine_for
from shared.messaging.projection import NotLoaded, Projection, Rows

metadata = sa.MetaData()
places = sa.Table(
    "places",
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("owner", sa.String(8), primary_key=True),
    sa.Column("code", sa.String(12), nullable=False),
    sa.Column("note", sa.String(20), nullable=True),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url: URL = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    engine = create_engine_for(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            sa.insert(places),
            [
                {"kind": "a", "owner": "1", "code": "x1", "note": None},
                {"kind": "a", "owner": "2", "code": "x2", "note": "n"},
                {"kind": "b", "owner": "1", "code": "y1", "note": None},
            ],
        )
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine) -> set[tuple[object, ...]]:
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(sa.select(places))}


async def test_changes_in_memory_reach_the_table_as_each_rows_last_state(engine: AsyncEngine) -> None:
    rows = Rows(places)
    async with engine.begin() as conn:
        await rows.load(conn, [("a", "1"), ("a", "2"), ("b", "1"), ("b", "9")])
        assert rows.get(("b", "9")) is None  # known to be absent
        assert rows.update(("b", "9"), code="none") is False
        rows.update(("a", "1"), code="x1b")
        rows.update(("a", "1"), note="twice")
        rows.delete(("a", "2"))
        rows.upsert({"kind": "a", "owner": "2", "code": "x2new"})  # a new row: its note is gone
        rows.delete(("b", "1"))
        rows.insert({"kind": "b", "owner": "9", "code": "new"})
        rows.upsert({"kind": "b", "owner": "9", "note": "merged"})
        assert sorted(rows.matching(lambda r: r["kind"] == "a")) == [("a", "1"), ("a", "2")]
        await rows.flush(conn)
    assert await stored(engine) == {
        ("a", "1", "x1b", "twice"),
        ("a", "2", "x2new", None),
        ("b", "9", "new", "merged"),
    }


async def test_rows_loaded_by_a_condition_and_a_second_flush_writes_only_what_changed_since(
    engine: AsyncEngine,
) -> None:
    rows = Rows(places)
    async with engine.begin() as conn:
        await rows.load_where(conn, places.c.kind == "a")
        rows.update(("a", "2"), note=None)
        await rows.flush(conn)
        rows.update(("a", "1"), code="again")
        await rows.flush(conn)
    assert await stored(engine) == {("a", "1", "again", None), ("a", "2", "x2", None), ("b", "1", "y1", None)}


async def test_a_row_never_loaded_cannot_be_read_or_changed_and_inserting_it_fails_at_flush(
    engine: AsyncEngine,
) -> None:
    rows = Rows(places)
    for touch in (
        lambda: rows.get(("a", "1")),
        lambda: rows.update(("a", "1"), code="z"),
        lambda: rows.delete(("a", "1")),
    ):
        with pytest.raises(NotLoaded):
            touch()
    rows.insert({"kind": "a", "owner": "1", "code": "dup"})
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await rows.flush(conn)
    assert ("a", "1", "x1", None) in await stored(engine)


def test_a_projection_has_per_event_handlers_or_a_batch_handler() -> None:
    async def batch(conn: object, envelopes: object) -> None: ...

    async def each(conn: object, envelope: object) -> None: ...

    batched = Projection.batched("p", ("x",), {"A", "B"}, batch)
    assert batched.event_types == {"A", "B"}
    assert set(batched.one_by_one().handlers) == {"A", "B"}
    assert Projection("q", ("x",), {"A": each}).event_types == {"A"}
    with pytest.raises(ValueError):
        Projection("r", ("x",), {"A": each}, batch=batch, types=frozenset({"A"}))
    with pytest.raises(ValueError):
        Projection("s", ("x",), batch=batch)
