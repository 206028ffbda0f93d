"""Reactors: follow a service's own events and act on them, at least once, in order.

A projection's effect commits with its checkpoint. A reactor's effect is itself an append
(another stream of the same store), which cannot share the checkpoint's transaction (the
store commits in its own group). So a reactor handles a page, then records the checkpoint:
after a crash the page is handled again, and every reaction must be idempotent (decide from
the target's current state, so a repeat produces nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.envelope import Envelope
from shared.eventstore.opener import EventOpener
from shared.messaging import checkpoints
from shared.messaging.relay import EventSource
from shared.worker import Worker

log = structlog.get_logger(__name__)

Reaction = Callable[[Envelope], Awaitable[None]]


class Reactor(Worker):
    """Runs `reactions` (by event type) for each new event of the local store."""

    retry_event = "reactor.retry"

    def __init__(
        self,
        name: str,
        producer: str,
        engine: AsyncEngine,
        source: EventSource,
        opener: EventOpener,
        reactions: Mapping[str, Reaction],
        *,
        poll: float = 1.0,
    ) -> None:
        super().__init__()
        self.name = name
        self._producer = producer
        self._engine = engine
        self._source = source
        self._opener = opener
        self._reactions = reactions
        self._poll = poll
        self.position = 0
        self._started = False

    def log_fields(self) -> dict[str, Any]:
        return {"reactor": self.name, "position": self.position}

    async def idle(self) -> None:
        await self.unless_stopped(self._source.committed.wait_beyond(self.position, self._poll))

    async def step(self) -> bool:
        """Handles one page; False when there was nothing new."""
        if not self._started:
            await checkpoints.ensure_rows(self._engine, self.name, [self._producer])
            self.position = (await checkpoints.read_all(self._engine, self.name))[self._producer]
            self._started = True
        page = await self._source.read_after(self.position, 200)
        if not page:
            return False
        wanted = [e for e in page if e.event_type in self._reactions]
        for envelope in await self._opener.open_many(wanted):
            with structlog.contextvars.bound_contextvars(correlation_id=str(envelope.correlation_id)):
                await self._reactions[envelope.event_type](envelope)
        self.position = page[-1].position
        async with self._engine.begin() as conn:
            recorded = await checkpoints.lock_and_read(conn, self.name, self._producer)
            # Another process of the service may have gone further: never move back.
            self.position = max(recorded, self.position)
            await checkpoints.advance(conn, self.name, self._producer, self.position)
        return True
