"""The envelope around every event: identity, stream, global position, time, causality, actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.contracts.base import EventPayload


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who caused a write and in answer to what: travels with every event it produces."""

    actor: str
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None

    def caused_by(self, event: StoredEvent | Envelope, actor: str | None = None) -> Metadata:
        """Metadata for events written in reaction to `event`: same correlation, caused by it."""
        return Metadata(
            actor=actor or self.actor,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed: its payload still sealed (personal fields encrypted).

    This is what the relay publishes, what the feed serves and what consumers receive; it
    becomes an `Envelope` only when a reader with access to the key store opens it.
    """

    position: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    actor: str
    producer: str
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape used on NATS and in the HTTP feed."""
        return {
            "position": self.position,
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "actor": self.actor,
            "producer": self.producer,
            "data": self.data,
        }

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> StoredEvent:
        """Parses the wire shape; raises `ValueError`/`KeyError` on a malformed message."""
        causation = raw.get("causation_id")
        return cls(
            position=int(raw["position"]),
            event_id=uuid.UUID(raw["event_id"]),
            event_type=str(raw["event_type"]),
            schema_version=int(raw["schema_version"]),
            stream_id=str(raw["stream_id"]),
            stream_version=int(raw["stream_version"]),
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            recorded_at=datetime.fromisoformat(raw["recorded_at"]),
            correlation_id=uuid.UUID(raw["correlation_id"]),
            causation_id=uuid.UUID(causation) if causation else None,
            actor=str(raw["actor"]),
            producer=str(raw["producer"]),
            data=dict(raw["data"]),
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event opened for reading: the payload decrypted, upcast and validated."""

    position: int
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    actor: str
    producer: str
    payload: EventPayload
    erased: bool = False


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append committed: the stream's new version and the events' global positions."""

    stream_id: str
    stream_version: int
    positions: tuple[int, ...]

    @property
    def last_position(self) -> int:
        return self.positions[-1] if self.positions else 0
