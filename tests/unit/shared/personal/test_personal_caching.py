"""The per-process key cache: TTL, local eviction on destroy, no negative caching."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from shared.personal import CachingKeyStore, DataKey, MemoryKeyStore, PersonErased


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[str]] = []
        self.writes: list[str] = []

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        ids = list(person_ids)
        self.reads.append(ids)
        return await super().keys_for_reading(ids)

    async def key_for_writing(self, person_id: str) -> DataKey:
        self.writes.append(person_id)
        return await super().key_for_writing(person_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inner() -> CountingStore:
    return CountingStore()


@pytest.fixture
def cache(inner: CountingStore, clock: Clock) -> CachingKeyStore:
    return CachingKeyStore(inner, ttl_seconds=5.0, clock=clock)


async def test_reads_are_cached_until_the_ttl(
    cache: CachingKeyStore, inner: CountingStore, clock: Clock
) -> None:
    key = await inner.key_for_writing("p1")
    assert await cache.keys_for_reading(["p1"]) == {"p1": key}
    clock.now += 4.9
    assert await cache.keys_for_reading(["p1"]) == {"p1": key}
    assert inner.reads == [["p1"]]
    clock.now += 0.1
    assert await cache.keys_for_reading(["p1"]) == {"p1": key}
    assert inner.reads == [["p1"], ["p1"]]


async def test_only_missing_keys_are_fetched_in_one_call(
    cache: CachingKeyStore, inner: CountingStore
) -> None:
    a = await cache.key_for_writing("a")
    b = await inner.key_for_writing("b")
    found = await cache.keys_for_reading(["a", "b", "c", "b"])
    assert found == {"a": a, "b": b, "c": None}
    assert inner.reads == [["b", "c"]]


async def test_writes_are_cached(
    cache: CachingKeyStore, inner: CountingStore, clock: Clock
) -> None:
    key = await cache.key_for_writing("p1")
    assert await cache.key_for_writing("p1") is key
    assert await cache.keys_for_reading(["p1"]) == {"p1": key}
    assert inner.writes == ["p1"] and inner.reads == []
    clock.now += 5.0
    assert await cache.key_for_writing("p1") == key
    assert inner.writes == ["p1", "p1"]


async def test_absent_keys_are_not_cached(cache: CachingKeyStore, inner: CountingStore) -> None:
    assert await cache.keys_for_reading(["p1"]) == {"p1": None}
    key = await inner.key_for_writing("p1")  # another process keys the person
    assert await cache.keys_for_reading(["p1"]) == {"p1": key}


async def test_destroy_evicts_at_once_locally(cache: CachingKeyStore) -> None:
    await cache.key_for_writing("p1")
    await cache.destroy("p1")
    assert await cache.keys_for_reading(["p1"]) == {"p1": None}
    assert await cache.is_destroyed("p1")
    with pytest.raises(PersonErased):
        await cache.key_for_writing("p1")


async def test_other_processes_see_destruction_within_the_ttl(
    inner: CountingStore, clock: Clock
) -> None:
    here = CachingKeyStore(inner, ttl_seconds=5.0, clock=clock)
    there = CachingKeyStore(inner, ttl_seconds=5.0, clock=clock)
    key = await here.key_for_writing("p1")
    assert await there.keys_for_reading(["p1"]) == {"p1": key}
    await here.destroy("p1")
    assert await there.keys_for_reading(["p1"]) == {"p1": key}  # still cached there
    clock.now += 5.0
    assert await there.keys_for_reading(["p1"]) == {"p1": None}


async def test_cache_is_bounded(inner: CountingStore, clock: Clock) -> None:
    cache = CachingKeyStore(inner, ttl_seconds=5.0, clock=clock, max_entries=3)
    for pid in "abcde":
        await cache.key_for_writing(pid)
    inner.writes.clear()
    await cache.key_for_writing("e")
    await cache.key_for_writing("a")  # evicted as the oldest
    assert inner.writes == ["a"]


def test_negative_ttl_is_refused(inner: CountingStore) -> None:
    with pytest.raises(ValueError):
        CachingKeyStore(inner, ttl_seconds=-1)
