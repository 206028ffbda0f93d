"""An in-memory key store for tests and single-process tools."""

from __future__ import annotations

from collections.abc import Iterable

from shared.personal.ciphers import cipher_named
from shared.personal.keystore import DataKey, PersonErased


class MemoryKeyStore:
    """Keeps data keys in a dict; destroyed persons are remembered so they never get a new key."""

    def __init__(self, algorithm: str = "aes-256-gcm") -> None:
        cipher_named(algorithm)  # fails early on an unknown name
        self.algorithm = algorithm
        self._keys: dict[str, DataKey] = {}
        self._destroyed: set[str] = set()

    async def key_for_writing(self, person_id: str) -> DataKey:
        if person_id in self._destroyed:
            raise PersonErased(person_id)
        key = self._keys.get(person_id)
        if key is None:
            key = self._keys[person_id] = DataKey.generate(person_id, self.algorithm)
        return key

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        found: dict[str, DataKey | None] = {}
        for pid in person_ids:
            if pid in self._destroyed:
                found[pid] = None
            else:
                found[pid] = self._keys.get(pid) or self._keys.setdefault(
                    pid, DataKey.generate(pid, self.algorithm)
                )
        return found

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        return {pid: self._keys.get(pid) for pid in person_ids}

    async def destroy(self, person_id: str) -> None:
        self._keys.pop(person_id, None)
        self._destroyed.add(person_id)

    async def is_destroyed(self, person_id: str) -> bool:
        return person_id in self._destroyed
