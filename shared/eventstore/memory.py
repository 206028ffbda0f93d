"""An in-memory event store: the fake that passes the same contract tests as the SQL store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from shared.contracts.base import EventPayload
from shared.eventstore.envelope import AppendResult, Metadata, StoredEvent, utcnow
from shared.eventstore.errors import ConcurrencyConflict
from shared.eventstore.limits import DEFAULT_MAX_EVENT_BYTES, encode_checked
from shared.eventstore.ports import ANY_VERSION, CommitSignal, Effect, Sealer


class MemoryEventStore:
    """Keeps one process's events in a list; for unit tests of handlers and projections."""

    def __init__(self, producer: str, sealer: Sealer, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.producer = producer
        self._max_event_bytes = max_event_bytes
        self.committed = CommitSignal()
        self.sealer = sealer
        self._events: list[StoredEvent] = []
        self._versions: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        meta: Metadata,
        *,
        effect: Effect | None = None,
    ) -> AppendResult:
        datas = await self.sealer.seal_many(payloads)
        encode_checked(stream_id, payloads, datas, meta, self._max_event_bytes)
        async with self._lock:
            current = self._versions.get(stream_id, 0)
            if expected_version != ANY_VERSION and expected_version != current:
                raise ConcurrencyConflict(stream_id, expected_version, current)
            if effect is not None:
                await effect(None)
            now = utcnow()
            start = len(self._events)
            for offset, (payload, data) in enumerate(zip(payloads, datas, strict=True), start=1):
                self._events.append(
                    StoredEvent(
                        position=start + offset,
                        event_id=uuid.uuid4(),
                        event_type=payload.event_type,
                        schema_version=payload.schema_version,
                        stream_id=stream_id,
                        stream_version=current + offset,
                        occurred_at=now,
                        recorded_at=now,
                        correlation_id=meta.correlation_id,
                        causation_id=meta.causation_id,
                        actor=meta.actor,
                        producer=self.producer,
                        data=data,
                    )
                )
            self._versions[stream_id] = current + len(payloads)
            result = AppendResult(
                stream_id, current + len(payloads), tuple(range(start + 1, len(self._events) + 1))
            )
        if payloads:
            await self.committed.notify(result.last_position)
        return result

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        return [e for e in self._events if e.stream_id == stream_id and e.stream_version > after_version]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        found: dict[str, list[StoredEvent]] = {s: [] for s in stream_ids}
        for event in self._events:
            if event.stream_id in found:
                found[event.stream_id].append(event)
        return found

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]:
        return self._events[position : position + limit]

    async def last_position(self) -> int:
        return len(self._events)
