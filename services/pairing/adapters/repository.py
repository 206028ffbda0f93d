"""Loads subjects and cadres from their streams, and appends with the registries kept in step."""

from __future__ import annotations

from collections.abc import Sequence

from services.pairing.adapters.registries import Fingerprints, cadre_stream, subject_stream
from services.pairing.domain import cadre as cadre_domain
from services.pairing.domain import subject as subject_domain
from services.pairing.domain.ports import Check, Effect, Registries
from services.pairing.domain.registry import changes_of
from shared.contracts.base import EventPayload
from shared.eventstore import AppendResult, EventStore, Metadata
from shared.eventstore.opener import EventOpener

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
