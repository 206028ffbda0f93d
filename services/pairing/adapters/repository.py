"""Loads subjects and cadres from their streams, and appends with the registries kept in step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from services.pairing.adapters.registries import Fingerprints, cadre_stream, subject_stream
from services.pairing.domain import cadre as cadre_domain
from services.pairing.domain import subject as subject_domain
from services.pairing.domain.ports import Check, Effect, Registries
from services.pairing.domain.registry import changes_of
from shared.contracts.base import EventPayload
from shared.eventstore import AppendResult, EventStore, Metadata, StoredEvent
from shared.eventstore.opener import EventOpener

S = TypeVar("S")

__all__ = ["Fingerprints", "PairingRepository", "cadre_stream", "subject_stream"]


class PairingRepository:
    """The pairing service's way to its event store and the registries its appends keep."""

    def __init__(self, store: EventStore, opener: EventOpener, registries: Registries) -> None:
        self.store = store
        self.opener = opener
        self.registries = registries

    async def subject(self, subject_id: str) -> subject_domain.SubjectState:
        state = subject_domain.SubjectState(subject_id)
        for envelope in await self.opener.open_many(await self.store.read_stream(subject_stream(subject_id))):
            state = subject_domain.evolve(state, envelope.payload)
        return state

    async def cadre(self, cadre_id: str) -> cadre_domain.CadreState:
        state = cadre_domain.CadreState(cadre_id)
        for envelope in await self.opener.open_many(await self.store.read_stream(cadre_stream(cadre_id))):
            state = cadre_domain.evolve(state, envelope.payload)
        return state

    async def subjects(self, subject_ids: Sequence[str]) -> dict[str, subject_domain.SubjectState]:
        """Many subjects at once: their streams in one read, their events opened together."""
        streams = await self.store.read_streams([subject_stream(s) for s in subject_ids])
        return {
            s: _fold(subject_domain.SubjectState(s), subject_domain.evolve, opened)
            for s, opened in zip(subject_ids, await self._open(streams), strict=True)
        }

    async def cadres(self, cadre_ids: Sequence[str]) -> dict[str, cadre_domain.CadreState]:
        """Many cadres at once: their streams in one read, their events opened together."""
        streams = await self.store.read_streams([cadre_stream(c) for c in cadre_ids])
        return {
            c: _fold(cadre_domain.CadreState(c), cadre_domain.evolve, opened)
            for c, opened in zip(cadre_ids, await self._open(streams), strict=True)
        }

    async def _open(self, streams: dict[str, list[StoredEvent]]) -> list[list[EventPayload]]:
        """Each stream's payloads, unsealed in one call for all of them."""
        everything = [event for stored in streams.values() for event in stored]
        opened = iter(await self.opener.open_many(everything))
        return [[next(opened).payload for _ in stored] for stored in streams.values()]

    async def append_subject(
        self,
        state: subject_domain.SubjectState,
        events: Sequence[EventPayload],
        meta: Metadata,
        check: Check | None = None,
    ) -> AppendResult:
        """Appends to the subject's stream; `check` reads first, the registries change with it."""
        return await self.store.append(
            subject_stream(state.subject_id), state.version, events, meta, effect=self._effect(events, check)
        )

    async def append_cadre(
        self, state: cadre_domain.CadreState, events: Sequence[EventPayload], meta: Metadata
    ) -> AppendResult:
        return await self.store.append(
            cadre_stream(state.cadre_id), state.version, events, meta, effect=self._effect(events)
        )

    def _effect(self, events: Sequence[EventPayload], check: Check | None = None) -> Effect | None:
        """The registries' part of an append; none when its events change no registry and
        nothing is to be checked, so such an append is a plain one."""
        changes = changes_of(events)
        return self.registries.effect(changes, check) if changes or check is not None else None


def _fold(state: S, evolve: Callable[[S, EventPayload], S], payloads: list[EventPayload]) -> S:
    for payload in payloads:
        state = evolve(state, payload)
    return state
