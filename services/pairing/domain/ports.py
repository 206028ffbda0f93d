"""What the pairing rules read and write beyond a stream: the registries, as ports.

A command reads the committed registries before it decides (`Registries.committed`), and its
append changes them in the append's own transaction (`Registries.effect`), after a `Check` has
read them again there and refused a stale decision. The SQL adapter keeps them in tables of the
service's database; the in-memory adapter keeps them beside the in-memory event store. Both
apply the same changes (`services/pairing/domain/registry.py`) with the same refusals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from services.pairing.domain.basis import Registered
from services.pairing.domain.registry import RegistryChange
from services.pairing.domain.rules import CadreView


class RegistryReader(Protocol):
    """The committed registries, as one consistent reading."""

    async def household(self, household_id: str) -> tuple[str, ...]:
        """The subjects of the household still cared for, in id order."""
        ...

    async def cadre_of(self, subject_id: str) -> str | None:
        """The cadre the subject is paired with now, if any."""
        ...

    async def held_by(self, cadre_id: str) -> str | None:
        """The household the cadre holds, if any."""
        ...

    async def household_cadre(self, household_id: str, besides: str) -> str | None:
        """The cadre another member of the household (not `besides`) is paired with, if any."""
        ...

    async def free_women(self, excluding: str, unit_id: str | None = None) -> list[CadreView]:
        """Women who can take a pairing and hold none (of `unit_id` only, when given), in id order."""
        ...

    async def paired_subjects(self, cadre_id: str) -> list[str]:
        """The subjects the cadre is paired with now, in id order."""
        ...

    async def cadre_version(self, cadre_id: str) -> int:
        """How many events the cadre's stream holds, as committed."""
        ...

    async def read_many(
        self,
        subject_ids: Collection[str],
        household_ids: Collection[str],
        cadre_ids: Collection[str],
        *,
        women: bool = False,
        unit_id: str | None = None,
        versions: bool = False,
    ) -> Registered:
        """What the bases of many pairings name, in one reading (one query, and one for women).

        The households' members and active pairings, the subjects' cadres, the cadres' holdings;
        with `women`, the free women (of `unit_id` only, when given); with `versions`, the
        cadres' stream versions. `basis_of` makes each pairing's `Basis` from it, equal to what
        the single reads above give.
        """
        ...


#: Reads the registries again inside an append, before they change; raises to refuse it.
Check = Callable[[RegistryReader], Awaitable[None]]

#: What the event store runs inside an append (its connection, or None in memory).
Effect = Callable[[Any], Awaitable[None]]


class Registries(Protocol):
    """The registries of one pairing service's database."""

    def committed(self) -> AbstractAsyncContextManager[RegistryReader]:
        """A reading of what is committed now, outside any append."""
        ...

    def effect(self, changes: Sequence[RegistryChange], check: Check | None = None) -> Effect:
        """The append's effect: runs `check`, then applies `changes`, all or none."""
        ...
