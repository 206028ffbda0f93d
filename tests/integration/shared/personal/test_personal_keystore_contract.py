"""One contract for every key store: in memory, SQL on SQLite, SQL on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine_for, migrate
from shared.personal import (
    KEYSTORE_MIGRATIONS,
    DataKey,
    KeyStore,
    MasterKey,
    MemoryKeyStore,
    PersonErased,
    SqlKeyStore,
)

MASTER = MasterKey("test-master", os.urandom(32))


class Backend:
    """Makes key stores over one shared storage, as separate processes would see it."""

    def __init__(self, url: URL | None) -> None:
        self.url = url
        self.engines: list[AsyncEngine] = []
        self.memory: dict[str, MemoryKeyStore] = {}

    def store(self, algorithm: str = "aes-256-gcm") -> KeyStore:
        if self.url is None:
            return self.memory.setdefault(algorithm, MemoryKeyStore(algorithm))
        engine = create_engine_for(self.url)
        self.engines.append(engine)
        return SqlKeyStore(engine, MASTER, algorithm)

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url: URL | None = None
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{tmp_path / 'keys.sqlite'}")
    elif request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    if url is not None:
        migrate(url, [KEYSTORE_MIGRATIONS])
    backend = Backend(url)
    yield backend
    await backend.close()


async def test_first_write_creates_a_key_later_ones_return_it(backend: Backend) -> None:
    store = backend.store()
    key = await store.key_for_writing("p1")
    assert isinstance(key, DataKey)
    assert (key.person_id, key.algorithm, len(key.key)) == ("p1", "aes-256-gcm", 32)
    assert await store.key_for_writing("p1") == key
    assert await store.keys_for_reading(["p1"]) == {"p1": key}
    assert await store.is_destroyed("p1") is False


async def test_sm4_keys_have_128_bits(backend: Backend) -> None:
    key = await backend.store("sm4-gcm").key_for_writing("p1")
    assert (key.algorithm, len(key.key)) == ("sm4-gcm", 16)


async def test_each_person_has_a_key_of_their_own(backend: Backend) -> None:
    store = backend.store()
    keys = [await store.key_for_writing(f"p{i}") for i in range(5)]
    assert len({k.key for k in keys}) == 5


async def test_reading_answers_every_asked_person(backend: Backend) -> None:
    store = backend.store()
    a = await store.key_for_writing("a")
    b = await store.key_for_writing("b")
    assert await store.keys_for_reading(iter(["a", "never", "b", "a"])) == {
        "a": a, "never": None, "b": b
    }
    assert await store.keys_for_reading([]) == {}
    assert await store.is_destroyed("never") is False


async def test_keys_outlive_the_instance(backend: Backend) -> None:
    key = await backend.store().key_for_writing("p1")
    other = backend.store()
    assert await other.keys_for_reading(["p1"]) == {"p1": key}
    assert await other.key_for_writing("p1") == key


async def test_destroy_erases_that_person_only(backend: Backend) -> None:
    store = backend.store()
    await store.key_for_writing("gone")
    kept = await store.key_for_writing("kept")
    await store.destroy("gone")
    assert await store.keys_for_reading(["gone", "kept"]) == {"gone": None, "kept": kept}
    assert await store.is_destroyed("gone") is True
    assert await store.is_destroyed("kept") is False
    with pytest.raises(PersonErased) as raised:
        await store.key_for_writing("gone")
    assert raised.value.person_id == "gone"
    await store.destroy("gone")  # idempotent
    assert await backend.store().is_destroyed("gone") is True


async def test_destroying_a_never_keyed_person_bars_them(backend: Backend) -> None:
    store = backend.store()
    await store.destroy("never")
    assert await store.is_destroyed("never") is True
    assert await store.keys_for_reading(["never"]) == {"never": None}
    with pytest.raises(PersonErased):
        await store.key_for_writing("never")


async def test_concurrent_creation_ends_with_one_key(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    keys = await asyncio.gather(
        *(
            (first if i % 2 else second).key_for_writing("contested")
            for i in range(20)
        )
    )
    assert len({k.key for k in keys}) == 1
    assert await first.keys_for_reading(["contested"]) == {"contested": keys[0]}
    assert await second.keys_for_reading(["contested"]) == {"contested": keys[0]}


async def test_concurrent_destroys_agree(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    await first.key_for_writing("p1")
    await asyncio.gather(*((first, second)[i % 2].destroy("p1") for i in range(6)))
    assert await first.is_destroyed("p1") and await second.is_destroyed("p1")


async def test_many_keys_are_made_at_once_keeping_those_that_exist(backend: Backend) -> None:
    store = backend.store()
    existing = await store.key_for_writing("p-0")
    await store.destroy("p-gone")
    wanted = [f"p-{i}" for i in range(400)] + ["p-gone", "p-7"]  # more than one insert's rows
    keys = await store.keys_for_writing(wanted)
    assert list(keys) == wanted[:-1]  # each asked person once, in the order asked
    assert keys["p-0"] == existing and keys["p-gone"] is None
    made = [k for pid, k in keys.items() if pid != "p-gone"]
    assert len({k.key for k in made if k is not None}) == 400
    assert await backend.store().keys_for_reading(wanted) == keys
    assert await store.keys_for_writing(wanted) == keys  # asked again: the same keys
    with pytest.raises(PersonErased):
        await store.key_for_writing("p-gone")


async def test_concurrent_batches_agree_on_each_key(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    people = [f"p-{i}" for i in range(50)]
    a, b = await asyncio.gather(first.keys_for_writing(people), second.keys_for_writing(people[::-1]))
    assert all(a[p] == b[p] for p in people)
    assert await first.keys_for_reading(people) == a
