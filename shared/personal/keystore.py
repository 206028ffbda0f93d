"""The key store port: one data key per person, destroyed to erase that person everywhere."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from shared.personal.ciphers import cipher_named


class PersonErased(Exception):
    """A person whose data key was destroyed: nothing new may be written about them."""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"person {person_id!r} was erased: their data key is destroyed")
        self.person_id = person_id


@dataclass(frozen=True, slots=True)
class DataKey:
    """A person's data key and the cipher it is for; `repr` never shows the key."""

    person_id: str
    algorithm: str
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        cipher = cipher_named(self.algorithm)
        if len(self.key) != cipher.key_size:
            raise ValueError(f"a {self.algorithm} data key has {cipher.key_size} bytes, not {len(self.key)}")

    @classmethod
    def generate(cls, person_id: str, algorithm: str) -> DataKey:
        """Returns a fresh random key for `person_id` sized for `algorithm`."""
        return cls(person_id, algorithm, os.urandom(cipher_named(algorithm).key_size))


class KeyStore(Protocol):
    """Holds one data key per person; reading a destroyed key yields None, never an error."""

    async def key_for_writing(self, person_id: str) -> DataKey:
        """Returns the person's key, creating it when absent; raises `PersonErased` if destroyed."""
        ...

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        """Returns every asked person's key, None when destroyed or never created, in one query."""
        ...

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        """Every asked person's key, created when absent, all at once; None for a destroyed one."""
        ...

    async def destroy(self, person_id: str) -> None:
        """Destroys the person's key for good (idempotent; also bars never-keyed persons)."""
        ...

    async def is_destroyed(self, person_id: str) -> bool:
        """Tells whether the person's key was destroyed."""
        ...
