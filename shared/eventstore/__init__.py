"""The event store: append with optimistic concurrency, dense global positions, group commit."""

from pathlib import Path

from shared.eventstore.envelope import AppendResult, Envelope, Metadata, StoredEvent
from shared.eventstore.errors import (
    ConcurrencyConflict,
    EventStoreError,
    EventTooLarge,
    StaleRead,
    StoreClosed,
    StoreUnavailable,
    UnstorableEvent,
)
from shared.eventstore.ports import ANY_VERSION, NO_STREAM, CommitSignal, EventStore, Sealer

EVENTSTORE_MIGRATIONS = Path(__file__).parent / "migrations" / "versions"

__all__ = [
    "ANY_VERSION",
    "EVENTSTORE_MIGRATIONS",
    "NO_STREAM",
    "AppendResult",
    "CommitSignal",
    "ConcurrencyConflict",
    "Envelope",
    "EventStore",
    "EventStoreError",
    "EventTooLarge",
    "Metadata",
    "Sealer",
    "StaleRead",
    "StoreClosed",
    "StoreUnavailable",
    "StoredEvent",
    "UnstorableEvent",
]
