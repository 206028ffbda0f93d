"""What the SQL key store keeps on disk, its master keys, and sealing across processes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts.base import ERASED, EventPayload, Personal
from shared.database import create_engine_for, migrate
from shared.personal import (
    KEYSTORE_MIGRATIONS,
    CachingKeyStore,
    CipherError,
    MasterKey,
    PayloadSealer,
    SqlKeyStore,
    TamperedCiphertext,
    UnknownMasterKey,
    build_payload,
)
from shared.personal.sql_keystore import data_keys

MASTER = MasterKey("m-2025", os.urandom(32))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    if request.param == "postgres":
        url: URL = request.getfixturevalue("pg_url")
    else:
        url = make_url(f"sqlite:///{tmp_path / 'keys.sqlite'}")
    migrate(url, [KEYSTORE_MIGRATIONS])
    return url


@pytest.fixture
async def engine(url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(url)
    yield engine
    await engine.dispose()


async def _row(engine: AsyncEngine, person_id: str) -> Any:
    async with engine.connect() as conn:
        query = sa.select(data_keys).where(data_keys.c.person_id == person_id)
        return (await conn.execute(query)).mappings().one()


async def _set_wrapped(engine: AsyncEngine, person_id: str, wrapped: bytes) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(data_keys).where(data_keys.c.person_id == person_id)
            .values(wrapped_key=wrapped)
        )


async def test_migration_is_repeatable(url: URL, engine: AsyncEngine) -> None:
    migrate(url, [KEYSTORE_MIGRATIONS])
    async with engine.connect() as conn:
        versions = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    assert [v[0] for v in versions] == ["keystore_0001"]


async def test_keys_are_stored_wrapped_and_destruction_keeps_the_row(
    engine: AsyncEngine,
) -> None:
    store = SqlKeyStore(engine, MASTER, "sm4-gcm")
    key = await store.key_for_writing("p1")
    row = await _row(engine, "p1")
    assert (row["algorithm"], row["master_key_id"]) == ("sm4-gcm", "m-2025")
    assert len(row["wrapped_key"]) == 12 + 16 + 16 and key.key not in row["wrapped_key"]
    assert row["created_at"] is not None and row["destroyed_at"] is None
    await store.destroy("p1")
    row = await _row(engine, "p1")
    assert row["wrapped_key"] is None and row["destroyed_at"] is not None


async def test_a_batch_read_is_one_query(engine: AsyncEngine) -> None:
    store = SqlKeyStore(engine, MASTER)
    for pid in ("a", "b", "c"):
        await store.key_for_writing(pid)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await store.keys_for_reading(["a", "b", "c", "x"])
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1 and sorted(k for k, v in found.items() if v) == ["a", "b", "c"]


async def test_a_huge_batch_read_works(engine: AsyncEngine) -> None:
    store = SqlKeyStore(engine, MASTER)
    key = await store.key_for_writing("p-1999")
    found = await store.keys_for_reading(f"p-{i}" for i in range(2000))
    assert len(found) == 2000 and found["p-1999"] == key and found["p-0"] is None


async def test_a_key_under_an_unconfigured_master_is_refused(engine: AsyncEngine) -> None:
    await SqlKeyStore(engine, MASTER).key_for_writing("p1")
    other = SqlKeyStore(engine, MasterKey("m-2026", os.urandom(32)))
    with pytest.raises(UnknownMasterKey, match="'m-2025'"):
        await other.keys_for_reading(["p1"])


async def test_a_retired_master_still_reads(engine: AsyncEngine) -> None:
    key = await SqlKeyStore(engine, MASTER).key_for_writing("old")
    rotated = SqlKeyStore(engine, MasterKey("m-2026", os.urandom(32)), retired_masters=[MASTER])
    assert await rotated.keys_for_reading(["old"]) == {"old": key}
    await rotated.key_for_writing("new")
    assert (await _row(engine, "new"))["master_key_id"] == "m-2026"


async def test_the_wrong_master_bytes_fail_authentication(engine: AsyncEngine) -> None:
    await SqlKeyStore(engine, MASTER).key_for_writing("p1")
    impostor = SqlKeyStore(engine, MasterKey("m-2025", os.urandom(32)))
    with pytest.raises(TamperedCiphertext):
        await impostor.key_for_writing("p1")


async def test_tampered_or_swapped_wrapped_keys_fail_authentication(engine: AsyncEngine) -> None:
    store = SqlKeyStore(engine, MASTER)
    await store.key_for_writing("a")
    await store.key_for_writing("b")
    wrapped_a = (await _row(engine, "a"))["wrapped_key"]
    await _set_wrapped(engine, "b", wrapped_a)  # a's key moved to b: aad = person id
    with pytest.raises(TamperedCiphertext):
        await store.keys_for_reading(["b"])
    await _set_wrapped(engine, "a", bytes([wrapped_a[0] ^ 1]) + wrapped_a[1:])
    with pytest.raises(TamperedCiphertext):
        await store.key_for_writing("a")


def test_an_unknown_algorithm_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(CipherError):
        SqlKeyStore(engine, MASTER, "des")


class CaseOpened(EventPayload):
    subject_id: str
    name: Annotated[str, Personal("subject_id")]
    health: Annotated[str | None, Personal("subject_id")] = None


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_erasure_reaches_every_process(url: URL) -> None:
    clock = Clock()
    engines = [create_engine_for(url) for _ in range(2)]
    try:
        writer, eraser = (
            PayloadSealer(CachingKeyStore(SqlKeyStore(e, MASTER), ttl_seconds=5, clock=clock))
            for e in engines
        )
        sealed = await writer.seal(CaseOpened(subject_id="p1", name="陈七", health="epilepsy"))
        assert "陈七" not in str(sealed) and "epilepsy" not in str(sealed)
        assert (await eraser.unseal(sealed))[0]["name"] == "陈七"
        await eraser.keystore.destroy("p1")
        assert (await eraser.unseal(sealed))[0]["name"] is ERASED  # at once where destroyed
        clock.now += 5  # elsewhere within the TTL
        data, erased = await writer.unseal(sealed)
        payload = build_payload(CaseOpened, data, erased)
        assert erased and payload.name is ERASED and payload.health is ERASED
        assert payload.subject_id == "p1"
    finally:
        for engine in engines:
            await engine.dispose()
