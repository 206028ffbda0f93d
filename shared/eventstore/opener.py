"""Opens stored events for reading: decrypt personal fields, upcast old schemas, validate."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.base import ContractRegistry
from shared.eventstore.envelope import Envelope, StoredEvent
from shared.eventstore.ports import Sealer
from shared.personal.sealing import build_payload


class EventOpener:
    """Turns sealed `StoredEvent`s into `Envelope`s with current-version payloads."""

    def __init__(self, registry: ContractRegistry, sealer: Sealer) -> None:
        self._registry = registry
        self._sealer = sealer

    async def open_many(self, stored: Sequence[StoredEvent]) -> list[Envelope]:
        """Opens a batch with one key look-up; raises `UnknownEventType` for a type no contract declares."""
        for event in stored:
            self._registry.payload_class(event.event_type)
        opened = await self._sealer.unseal_many([event.data for event in stored])
        return [
            self._envelope(event, data, erased) for event, (data, erased) in zip(stored, opened, strict=True)
        ]

    async def open(self, stored: StoredEvent) -> Envelope:
        return (await self.open_many([stored]))[0]

    def _envelope(self, event: StoredEvent, data: dict, erased: bool) -> Envelope:
        cls = self._registry.payload_class(event.event_type)
        data = self._registry.upcast(event.event_type, event.schema_version, data)
        return Envelope(
            position=event.position,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=cls.schema_version,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            actor=event.actor,
            producer=event.producer,
            payload=build_payload(cls, data, erased),
            erased=erased,
        )
