"""The per-process key cache: TTL, local eviction on destroy, no negative caching."""

from __future__ import annotations

import asyncio
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
        self.write_calls: list[list[str]] = []

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        ids = list(person_ids)
        self.reads.append(ids)
        return await super().keys_for_reading(ids)

    async def key_for_writing(self, person_id: str) -> DataKey:
        self.writes.append(person_id)
        return await super().key_for_writing(person_id)

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        ids = list(person_ids)
        self.writes.extend(ids)
        self.write_calls.append(ids)
        return await super().keys_for_writing(ids)


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


async def test_misses_of_concurrent_callers_go_to_the_store_as_one_call(
    cache: CachingKeyStore, inner: CountingStore
) -> None:
    known = await cache.key_for_writing("known")
    inner.write_calls.clear()
    found = await asyncio.gather(
        cache.key_for_writing("a"),
        cache.keys_for_writing(["b", "known", "a"]),
        cache.key_for_writing("c"),
    )
    assert inner.write_calls == [["a", "b", "c"]]  # "known" is cached; "a" asked twice, made once
    assert found[1] == {"b": found[1]["b"], "known": known, "a": found[0]}
    assert len({found[0], found[1]["b"], found[2]}) == 3
    assert await inner.keys_for_reading(["a", "b", "c"]) == {"a": found[0], "b": found[1]["b"], "c": found[2]}


async def test_an_erased_person_in_a_merged_call_fails_only_its_own_caller(
    cache: CachingKeyStore, inner: CountingStore
) -> None:
    await inner.destroy("gone")
    results = await asyncio.gather(
        cache.key_for_writing("gone"), cache.key_for_writing("fine"), return_exceptions=True
    )
    assert isinstance(results[0], PersonErased) and isinstance(results[1], DataKey)
    assert len(inner.write_calls) == 1


async def test_a_caller_that_leaves_leaves_the_others_their_answer(
    cache: CachingKeyStore, inner: CountingStore
) -> None:
    leaving = asyncio.ensure_future(cache.key_for_writing("x"))
    staying = asyncio.ensure_future(cache.key_for_writing("y"))
    await asyncio.sleep(0)
    leaving.cancel()
    assert isinstance(await staying, DataKey)
    with pytest.raises(asyncio.CancelledError):
        await leaving
