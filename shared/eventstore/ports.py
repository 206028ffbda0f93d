"""The event store's port, and the sealer it encrypts payloads with."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from shared.contracts.base import EventPayload
from shared.eventstore.envelope import AppendResult, Metadata, StoredEvent

#: `expected_version` for a stream that must not exist yet.
NO_STREAM = 0
#: `expected_version` that skips the check (for streams only one writer ever appends to).
ANY_VERSION = -1

#: A write that commits in the same transaction as an append (a read-model row, a checkpoint).
#: It receives the store's own connection object; it must not commit.
Effect = Callable[[Any], Awaitable[None]]

#: Runs a run of effects at once: each effect's failure (the exception calling it alone would
#: raise) or None, in order. See `GroupedEffect`.
Together = Callable[[Any, Sequence[Any]], Awaitable[list[Exception | None]]]


@runtime_checkable
class GroupedEffect(Protocol):
    """An effect that can run at once with the effects next to it in a batch sharing its `together`.

    `together(conn, effects)` must leave exactly what calling each effect in turn would, and
    return for each the exception that call would raise (None when it passes), leaving nothing
    of a failed one. When it raises instead, the batch runs again calling each effect alone.
    The store groups only neighbours, so no other effect runs between members of a group.
    """

    together: Together

    def __call__(self, conn: Any) -> Awaitable[None]: ...


class Sealer(Protocol):
    """Turns payloads into stored JSON with personal fields encrypted, and back."""

    async def seal_many(self, payloads: Sequence[EventPayload]) -> list[dict[str, Any]]: ...

    async def unseal_many(self, datas: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]: ...


class EventStore(Protocol):
    """Appends events to streams with optimistic concurrency and reads them back in order.

    Positions are dense (each committed event takes the next integer) and no reader can pass
    over an event that commits later with a lower position.
    """

    producer: str
    committed: CommitSignal

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        meta: Metadata,
        *,
        effect: Effect | None = None,
    ) -> AppendResult: ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]: ...

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        """Every asked stream's events in order, in one query; an unknown stream reads as empty."""
        ...

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]: ...

    async def last_position(self) -> int: ...


class CommitSignal:
    """Wakes everyone waiting for the next commit; cheap to set, never loses a wake-up.

    A waiter passes the position it has seen; it returns at once when a later position has
    already committed, so a commit that lands between a reader's query and its wait is not
    missed.
    """

    def __init__(self) -> None:
        self._position = 0
        self._changed = asyncio.Condition()

    @property
    def position(self) -> int:
        return self._position

    async def notify(self, position: int) -> None:
        async with self._changed:
            if position > self._position:
                self._position = position
            self._changed.notify_all()

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Waits until a position beyond `position` commits; False on timeout."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._position > position), timeout)
            except TimeoutError:
                return False
            return True
