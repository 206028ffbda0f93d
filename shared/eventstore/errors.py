"""Typed failures of the event store."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class of every event store failure."""


class ConcurrencyConflict(EventStoreError):
    """The stream moved on since the writer read it: reload, decide again, retry."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, the write expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class StaleRead(ConcurrencyConflict):
    """Something a decision read besides its own stream changed before it committed: decide again.

    Raised by a check that runs inside the append's transaction; the stream itself is still at
    the version the writer expected.
    """

    def __init__(self, stream_id: str, version: int, what: str) -> None:
        super().__init__(stream_id, version, version)
        self.args = (f"{what} changed while the write to stream {stream_id!r} was decided",)
        self.what = what


class EventTooLarge(EventStoreError):
    """An event above the store's size limit: refused, so that no event is too large to relay."""


class UnstorableEvent(EventStoreError):
    """An event no database of the store can hold as given (a NUL character): refused alone."""


class StoreUnavailable(EventStoreError):
    """The database did not take the write; nothing of it was committed."""


class StoreClosed(EventStoreError):
    """The store is shutting down and takes no more writes."""
