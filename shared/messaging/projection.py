"""Applies a producer's events to a read model, in order, exactly once, with its checkpoint.

A batch of events from one producer is applied in one transaction that also moves the
checkpoint; the caller acknowledges the messages only after that commit. Events at or below
the checkpoint are skipped (a redelivery or a duplicate has no second effect); an event beyond
checkpoint + 1 is a gap, and the runner refuses to pass it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.eventstore.envelope import Envelope, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.ports import CommitSignal
from shared.messaging import checkpoints

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    """A named read model: the producers it follows and a handler per event type it uses."""

    name: str
    producers: tuple[str, ...]
    handlers: Mapping[str, Handler]


class Gap(Exception):
    """Events are missing between the checkpoint and the next event: fill them first."""

    def __init__(self, producer: str, after: int, next_position: int) -> None:
        super().__init__(f"{producer}: events {after + 1}..{next_position - 1} are missing")
        self.producer = producer
        self.after = after
        self.next_position = next_position


class ProjectionRunner:
    """Applies batches to one projection and knows how far it got with each producer."""

    def __init__(self, engine: AsyncEngine, projection: Projection, opener: EventOpener) -> None:
        self.engine = engine
        self.projection = projection
        self._opener = opener
        self.signals = {producer: CommitSignal() for producer in projection.producers}
        self.applied = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def start(self) -> None:
        await checkpoints.ensure_rows(self.engine, self.name, list(self.projection.producers))
        for producer, position in (await checkpoints.read_all(self.engine, self.name)).items():
            if producer in self.signals:
                await self.signals[producer].notify(position)

    async def refresh(self) -> None:
        """Reads the checkpoints again: another process of this service may have moved them."""
        for producer, position in (await checkpoints.read_all(self.engine, self.name)).items():
            if producer in self.signals:
                await self.signals[producer].notify(position)

    def position(self, producer: str) -> int:
        return self.signals[producer].position

    async def apply(self, producer: str, events: Sequence[StoredEvent]) -> int:
        """Applies what is new in `events` (sorted by position); returns the new checkpoint.

        Raises `Gap` when the first new event does not follow the checkpoint, before any effect.
        """
        handlers = self.projection.handlers
        async with self.engine.begin() as conn:
            position = await checkpoints.lock_and_read(conn, self.name, producer)
            fresh = [e for e in events if e.position > position]
            if not fresh:
                # Another process of this service may have applied them: catch up the signal.
                await self.signals[producer].notify(position)
                return position
            expected = position + 1
            for event in fresh:
                if event.position != expected:
                    raise Gap(producer, expected - 1, event.position)
                expected += 1
            wanted = [e for e in fresh if e.event_type in handlers]
            for envelope in await self._opener.open_many(wanted):
                with structlog.contextvars.bound_contextvars(
                    correlation_id=str(envelope.correlation_id), event_position=envelope.position
                ):
                    await handlers[envelope.event_type](conn, envelope)
            position = fresh[-1].position
            await checkpoints.advance(conn, self.name, producer, position)
        self.applied += len(fresh)
        await self.signals[producer].notify(position)
        return position
