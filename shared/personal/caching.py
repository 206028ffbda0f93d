"""A per-process cache in front of a key store, so hot persons cost no query per event."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from shared.coalescing import Coalescer
from shared.personal.keystore import DataKey, KeyStore, PersonErased


class CachingKeyStore:
    """Caches data keys for `ttl_seconds` per process, for reading and for writing.

    A destruction made through this instance evicts the key here at once. Other processes
    (and other instances) see it within `ttl_seconds`: until then they may still read that
    person's data, and may still seal new data with the old key, which is harmless because
    that data becomes unreadable, like the rest, once their cache entry expires.

    Absent keys (None) are never cached: a person keyed moments ago by another process must
    not read as erased here.

    Misses of concurrent callers in one turn of the event loop go to the inner store as one
    call (`shared/coalescing.py`): a batch of appends for new people creates their keys in
    one statement, not one transaction each.
    """

    def __init__(
        self,
        inner: KeyStore,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_entries: int = 100_000,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must not be negative")
        self.inner = inner
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[DataKey, float]] = {}
        self._reading: Coalescer[str, DataKey | None] = Coalescer(inner.keys_for_reading)
        self._writing: Coalescer[str, DataKey | None] = Coalescer(inner.keys_for_writing)

    async def key_for_writing(self, person_id: str) -> DataKey:
        key = (await self.keys_for_writing([person_id]))[person_id]
        if key is None:
            raise PersonErased(person_id)
        return key

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        return await self._cached(person_ids, self._writing)

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        return await self._cached(person_ids, self._reading)

    async def _cached(
        self, person_ids: Iterable[str], inner: Coalescer[str, DataKey | None]
    ) -> dict[str, DataKey | None]:
        found: dict[str, DataKey | None] = {}
        missing: list[str] = []
        for pid in dict.fromkeys(person_ids):
            found[pid] = self._fresh(pid)
            if found[pid] is None:
                missing.append(pid)
        if missing:
            for pid, key in (await inner.get(missing)).items():
                found[pid] = key
                if key is not None:
                    self._remember(key)
        return found

    async def destroy(self, person_id: str) -> None:
        self._entries.pop(person_id, None)
        await self.inner.destroy(person_id)
        self._entries.pop(person_id, None)  # a read racing the destroy may have re-cached it

    async def is_destroyed(self, person_id: str) -> bool:
        return await self.inner.is_destroyed(person_id)

    def clear(self) -> None:
        """Forgets every cached key."""
        self._entries.clear()

    def _fresh(self, person_id: str) -> DataKey | None:
        entry = self._entries.get(person_id)
        if entry is None:
            return None
        key, expires = entry
        if self._clock() >= expires:
            del self._entries[person_id]
            return None
        return key

    def _remember(self, key: DataKey) -> None:
        now = self._clock()
        if len(self._entries) >= self._max_entries:
            self._entries = {p: e for p, e in self._entries.items() if e[1] > now}
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest insertion
        self._entries[key.person_id] = (key, now + self.ttl_seconds)
