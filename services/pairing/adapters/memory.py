"""The registries beside the in-memory event store: the same rules as the SQL tables, in dicts.

An append's effect runs inside the in-memory store's critical section, before its events are
stored: the check reads the registries there, the changes are applied to a copy, and the copy
replaces the registries only when every change passed. A refused change leaves them as they
were, as the SQL adapter's savepoint does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from services.pairing.adapters.registries import Fingerprints, cadre_stream
from services.pairing.domain.basis import Registered
from services.pairing.domain.ports import Check, Effect
from services.pairing.domain.registry import (
    CadreEntry,
    ChangeCadre,
    ClaimCadre,
    ClaimIdNumber,
    EnrolCadre,
    Hold,
    JoinHousehold,
    LeaveHousehold,
    MoveHousehold,
    RegistryChange,
    Release,
    ReleaseIdNumber,
)
from services.pairing.domain.rules import CadreView
from shared.contracts.people import Gender
from shared.eventstore.ports import EventStore


@dataclass
class _Tables:
    subject_fingerprints: dict[str, str] = field(default_factory=dict)  # fingerprint → subject
    cadre_fingerprints: dict[str, str] = field(default_factory=dict)  # fingerprint → cadre
    households: dict[str, str] = field(default_factory=dict)  # subject → household
    cadres: dict[str, CadreEntry] = field(default_factory=dict)
    holdings: dict[str, tuple[str, int]] = field(default_factory=dict)  # cadre → (household, subjects)
    pairings: dict[str, Hold] = field(default_factory=dict)  # subject → its active pairing


class MemoryRegistryReader:
    """The registries as they stand in memory."""

    def __init__(self, tables: _Tables, store: EventStore) -> None:
        self._tables = tables
        self._store = store

    async def household(self, household_id: str) -> tuple[str, ...]:
        return tuple(sorted(s for s, h in self._tables.households.items() if h == household_id))

    async def cadre_of(self, subject_id: str) -> str | None:
        hold = self._tables.pairings.get(subject_id)
        return hold.cadre_id if hold else None

    async def held_by(self, cadre_id: str) -> str | None:
        holding = self._tables.holdings.get(cadre_id)
        return holding[0] if holding else None

    async def household_cadre(self, household_id: str, besides: str) -> str | None:
        cadres = sorted(
            h.cadre_id
            for h in self._tables.pairings.values()
            if h.household_id == household_id and h.subject_id != besides
        )
        return cadres[0] if cadres else None

    async def free_women(self, excluding: str, unit_id: str | None = None) -> list[CadreView]:
        return [
            _view(entry)
            for cadre_id, entry in sorted(self._tables.cadres.items())
            if entry.gender is Gender.female
            and entry.available
            and cadre_id != excluding
            and cadre_id not in self._tables.holdings
            and (unit_id is None or entry.unit_id == unit_id)
        ]

    async def paired_subjects(self, cadre_id: str) -> list[str]:
        return sorted(h.subject_id for h in self._tables.pairings.values() if h.cadre_id == cadre_id)

    async def cadre_version(self, cadre_id: str) -> int:
        return len(await self._store.read_stream(cadre_stream(cadre_id)))

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
        households, subjects = set(household_ids), set(subject_ids)
        members: dict[str, list[str]] = {h: [] for h in households}
        for subject_id, household_id in self._tables.households.items():
            if household_id in households:
                members[household_id].append(subject_id)
        pairings: dict[str, list[tuple[str, str]]] = {h: [] for h in households}
        cadre_of: dict[str, str] = {}
        for hold in self._tables.pairings.values():
            if hold.household_id in households or hold.subject_id in subjects:
                cadre_of[hold.subject_id] = hold.cadre_id
                pairings.setdefault(hold.household_id, []).append((hold.subject_id, hold.cadre_id))
        return Registered(
            members={h: tuple(sorted(m)) for h, m in members.items()},
            cadre_of=cadre_of,
            household_pairings={h: tuple(sorted(p)) for h, p in pairings.items()},
            held={c: self._tables.holdings[c][0] for c in set(cadre_ids) if c in self._tables.holdings},
            women=tuple(self._women(unit_id)) if women else (),
            versions={c: await self.cadre_version(c) for c in set(cadre_ids)} if versions else {},
        )

    def _women(self, unit_id: str | None) -> list[CadreView]:
        return [
            _view(entry)
            for cadre_id, entry in sorted(self._tables.cadres.items())
            if entry.gender is Gender.female
            and entry.available
            and cadre_id not in self._tables.holdings
            and (unit_id is None or entry.unit_id == unit_id)
        ]


class MemoryRegistries:
    """The registries of an in-memory store: give `effect`'s result to that store's appends."""

    def __init__(self, store: EventStore, fingerprints: Fingerprints) -> None:
        self.store = store
        self.fingerprints = fingerprints
        self._tables = _Tables()

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[MemoryRegistryReader]:
        yield MemoryRegistryReader(self._tables, self.store)

    def effect(self, changes: Sequence[RegistryChange], check: Check | None = None) -> Effect:
        async def apply(_conn: Any) -> None:
            if check is not None:
                await check(MemoryRegistryReader(self._tables, self.store))
            tables = _Tables(**{name: dict(rows) for name, rows in vars(self._tables).items()})
            for change in changes:
                _apply(tables, self.fingerprints, change)
            self._tables = tables

        return apply


def _view(entry: CadreEntry) -> CadreView:
    """The rules' view of a registry entry: no name or birth date (the age rule is for men)."""
    return CadreView(
        cadre_id=entry.cadre_id,
        name="",
        kind=entry.kind,
        gender=entry.gender,
        birth_date=date(1900, 1, 1),
        rank=entry.rank,
        party_member=entry.party_member,
        links=entry.links,
    )


def _claim(owners: dict[str, str], fingerprint: str, owner: str, refused: Exception) -> None:
    """A fingerprint has one owner and an owner one fingerprint, as the SQL keys say."""
    if fingerprint in owners or owner in owners.values():
        raise refused
    owners[fingerprint] = owner


def _apply(tables: _Tables, fingerprints: Fingerprints, change: RegistryChange) -> None:
    match change:
        case ClaimIdNumber():
            _claim(
                tables.subject_fingerprints,
                fingerprints.of_id_number(change),
                change.subject_id,
                change.refused(),
            )
        case ReleaseIdNumber():
            owned = [f for f, s in tables.subject_fingerprints.items() if s == change.subject_id]
            for fingerprint in owned:
                del tables.subject_fingerprints[fingerprint]
        case JoinHousehold():
            if change.subject_id in tables.households:
                raise ValueError(f"{change.subject_id} is already a member of a household")
            tables.households[change.subject_id] = change.household_id
        case MoveHousehold():
            if change.subject_id in tables.households:
                tables.households[change.subject_id] = change.household_id
        case LeaveHousehold():
            tables.households.pop(change.subject_id, None)
        case ClaimCadre():
            fingerprint = fingerprints.of_cadre(change)
            _claim(tables.cadre_fingerprints, fingerprint, change.cadre_id, change.refused())
        case EnrolCadre():
            if change.entry.cadre_id in tables.cadres:
                raise ValueError(f"{change.entry.cadre_id} is already in the registry")
            tables.cadres[change.entry.cadre_id] = change.entry
        case ChangeCadre():
            entry = tables.cadres.get(change.cadre_id)
            if entry is not None:
                values = {
                    name: getattr(change, name)
                    for name in ("unit_id", "kind", "rank", "links", "available")
                    if getattr(change, name) is not None
                }
                tables.cadres[change.cadre_id] = replace(entry, **values)
        case Hold():
            _hold(tables, change)
        case Release():
            hold = tables.pairings.pop(change.subject_id, None)
            if hold is not None:
                household, subjects = tables.holdings[hold.cadre_id]
                if subjects <= 1:
                    del tables.holdings[hold.cadre_id]
                else:
                    tables.holdings[hold.cadre_id] = (household, subjects - 1)


def _hold(tables: _Tables, hold: Hold) -> None:
    entry = tables.cadres.get(hold.cadre_id)
    if entry is not None and not entry.available:
        raise hold.unavailable()
    household, subjects = tables.holdings.get(hold.cadre_id, (hold.household_id, 0))
    if household != hold.household_id:
        raise hold.other_household()
    if hold.subject_id in tables.pairings:
        raise hold.already_paired()
    tables.holdings[hold.cadre_id] = (household, subjects + 1)
    tables.pairings[hold.subject_id] = hold
