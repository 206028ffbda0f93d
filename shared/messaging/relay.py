"""The outbox relay: publishes committed events to JetStream in position order, exactly once.

It wakes on the store's commit signal (and polls as a fallback, so a lost wake-up costs at most
one poll interval), publishes a page with `publish_async` so the acks pipeline, and records its
progress only after JetStream acknowledged every message of the page. While it waits for a
page's acks, a new commit wakes it to publish the next page. Progress is written in the
background, one write at a time and always the latest acknowledged position, so a database
commit is not on the path of every event; stopping writes the last one. After a crash it
publishes again what was acknowledged but not yet recorded; JetStream drops the repeats by
`Nats-Msg-Id` within its duplicate window, and consumers skip any that get through by position.
Each message is signed with the producer's signing key (shared/messaging/signing.py), so that
consumers can tell its messages from anything else published on its subjects.

An event larger than the NATS server takes in one message (stored before the store's own limit
was set, or under a server configured smaller) is never published: the relay steps over it,
logs `relay.event_skipped` as an error, counts it in `skipped` (health and metrics show it), and
moves on. Consumers see the hole at its position and take the event from the producer's feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.envelope import StoredEvent
from shared.eventstore.ports import CommitSignal
from shared.eventstore.schema import relay_progress
from shared.messaging.connection import NatsConnection
from shared.messaging.lease import AlwaysHeld, Lease
from shared.messaging.signing import SIGNATURE_HEADER, sign
from shared.messaging.stream import (
    CORRELATION_HEADER,
    EVENT_TYPE_HEADER,
    POSITION_HEADER,
    PRODUCER_HEADER,
    StreamSettings,
    ensure_stream,
)
from shared.worker import MAX_BACKOFF, Worker

log = structlog.get_logger(__name__)

PAGES_IN_FLIGHT = 2
# Room left in a NATS message for the headers (a few hundred bytes), so that the payload check
# needs no arithmetic over them for every event.
HEADER_ROOM = 4096


class EventSource(Protocol):
    committed: CommitSignal

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]: ...


class RelayProgress(Protocol):
    """Where the relay remembers the last position JetStream acknowledged."""

    async def load(self) -> int: ...

    async def save(self, position: int) -> None: ...


class SqlRelayProgress:
    """Relay progress in the producer's own database."""

    def __init__(self, engine: AsyncEngine, relay: str = "jetstream") -> None:
        self._engine = engine
        self._relay = relay

    async def load(self) -> int:
        async with self._engine.connect() as conn:
            query = sa.select(relay_progress.c.position).where(relay_progress.c.relay == self._relay)
            position = (await conn.execute(query)).scalar_one_or_none()
        return int(position or 0)

    async def save(self, position: int) -> None:
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                sa.update(relay_progress)
                .where(relay_progress.c.relay == self._relay)
                .values(position=position)
            )
            if updated.rowcount == 0:
                await conn.execute(sa.insert(relay_progress).values(relay=self._relay, position=position))


def encode(event: StoredEvent) -> bytes:
    return orjson.dumps(event.to_wire())


def headers_for(event: StoredEvent) -> dict[str, str]:
    return {
        "Nats-Msg-Id": str(event.event_id),
        POSITION_HEADER: str(event.position),
        PRODUCER_HEADER: event.producer,
        EVENT_TYPE_HEADER: event.event_type,
        CORRELATION_HEADER: str(event.correlation_id),
    }


class Relay(Worker):
    """Moves one producer's committed events onto JetStream."""

    retry_event = "relay.retry"

    def __init__(
        self,
        source: EventSource,
        progress: RelayProgress,
        nats: NatsConnection,
        stream: StreamSettings,
        *,
        page_size: int = 1000,
        poll_interval: float = 1.0,
        ack_timeout: float = 10.0,
        max_backoff: float = MAX_BACKOFF,
        lease: Lease | None = None,
        signing_key: bytes | None = None,
    ) -> None:
        super().__init__(max_backoff=max_backoff)
        self._source = source
        self._signing_key = signing_key
        self._lease = lease or AlwaysHeld()
        self._progress = progress
        self._nats = nats
        self._stream = stream
        self._page_size = page_size
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self.position = 0
        self.published = 0
        self.skipped: list[int] = []  # positions too large to publish, taken from the feed instead
        self.standby = False
        self._leading = False  # holds the lease and has loaded the progress
        self._stream_ready = False
        # Pages published and not yet acknowledged: last position, events, and their acks.
        self._in_flight: deque[tuple[int, int, asyncio.Future[Any]]] = deque()
        self._read_position = 0
        self._saved = 0  # the position last written to the progress store
        self._saving: asyncio.Task[None] | None = None

    def log_fields(self) -> dict[str, Any]:
        return {"position": self.position}

    async def step(self) -> bool:
        """Publishes what it can while it holds the lease; True when pages moved."""
        if not await self._lease.hold():
            # Another process of this service relays; stand by and ask again.
            self._leading, self.standby = False, True
            return False
        if not self._leading:
            # Taking over: the previous holder may have moved the progress on.
            await self._stop_saving()
            self.position = self._saved = await self._progress.load()
            self._read_position = self.position
            self._in_flight.clear()
            self._leading, self.standby = True, False
        if not self._stream_ready:
            await ensure_stream(await self._nats.jetstream(), self._stream)
            self._in_flight.clear()
            self._read_position = self.position
            self._stream_ready = True
        return await self._relay_pages()

    async def idle(self) -> None:
        """A standby asks for the lease again after a poll; the holder waits for a commit or a poll."""
        if self.standby:
            await self._sleep(self._poll_interval)
        else:
            await self.unless_stopped(self._source.committed.wait_beyond(self.position, self._poll_interval))

    async def after_failure(self, exc: Exception) -> None:
        # NATS or the database is down: make sure of the stream, and of the lease, again.
        self._stream_ready = False
        self._leading = False

    async def finish(self) -> None:
        """Records the last acknowledged position (if it leads), then lets go of the lease."""
        await self._stop_saving(flush=self._leading)
        await self._lease.release()

    async def _relay_pages(self) -> bool:
        """Keeps up to two pages in flight: the next one is read and sent while acks arrive.

        Progress moves only when every message of the oldest page is acknowledged, and pages
        are acknowledged in order, so the recorded position never passes an unacked event.
        """
        self._raise_failed_save()
        moved = False
        while len(self._in_flight) < PAGES_IN_FLIGHT:
            events = await self._source.read_after(self._read_position, self._page_size)
            if not events:
                break
            js = await self._nats.jetstream()
            limit = (await self._nats.client()).max_payload
            pending = []
            for e in events:
                payload = encode(e)
                if len(payload) > limit - HEADER_ROOM:
                    self._skip(e, len(payload), limit)
                    continue
                headers = headers_for(e)
                if self._signing_key is not None:
                    headers[SIGNATURE_HEADER] = sign(self._signing_key, payload)
                subject = self._stream.subject(e.producer, e.event_type)
                pending.append(await js.publish_async(subject, payload, headers=headers))
            self._in_flight.append((events[-1].position, len(events), asyncio.gather(*pending)))
            self._read_position = events[-1].position
            moved = True
        if self._in_flight:
            last, count, acked = self._in_flight[0]
            try:
                if not await self._acked_or_committed(acked):
                    return True  # a new commit: publish it too, then come back for these acks
            except BaseException:
                for _, _, future in self._in_flight:
                    future.cancel()
                self._in_flight.clear()
                self._read_position = self.position  # publish again from the last acked event
                raise
            self._in_flight.popleft()
            self.position = last
            self.published += count
            self._save_soon()
            moved = True
        return moved

    def _skip(self, event: StoredEvent, size: int, limit: int) -> None:
        if event.position not in self.skipped:
            self.skipped.append(event.position)
            log.error(
                "relay.event_skipped",
                position=event.position,
                event_type=event.event_type,
                size=size,
                max_payload=limit,
                remedy="consumers take it from the producer's feed",
            )

    async def _acked_or_committed(self, acked: asyncio.Future[Any]) -> bool:
        """Waits for a page's acks; with room for another page, a new commit ends the wait too.

        True when the acks came; False when a commit came first; a publish error or no
        answer within the ack timeout raises.
        """
        waits: set[asyncio.Future[Any]] = {acked}
        wake: asyncio.Future[bool] | None = None
        if len(self._in_flight) < PAGES_IN_FLIGHT:
            wake = asyncio.ensure_future(
                self._source.committed.wait_beyond(self._read_position, self._ack_timeout)
            )
            waits.add(wake)
        try:
            done, _ = await asyncio.wait(
                waits, timeout=self._ack_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if wake is not None:
                wake.cancel()
        if acked in done:
            acked.result()
            return True
        if wake is not None and wake in done and not wake.cancelled() and wake.result():
            return False
        raise TimeoutError(f"JetStream acknowledged no page within {self._ack_timeout} s")

    def _save_soon(self) -> None:
        """Writes the latest acknowledged position in the background, one write at a time."""
        self._raise_failed_save()
        if self._saving is None or self._saving.done():
            self._saving = asyncio.create_task(self._save_latest(), name="relay-progress")

    def _raise_failed_save(self) -> None:
        """A progress write that failed is raised here, so the relay backs off and retries."""
        if self._saving is not None and self._saving.done():
            self._saving.result()

    async def _save_latest(self) -> None:
        while self._saved < self.position:
            position = self.position
            await self._progress.save(position)
            self._saved = position

    async def _stop_saving(self, *, flush: bool = False) -> None:
        """Ends the background writer; with `flush`, first records the latest position."""
        task, self._saving = self._saving, None
        if task is not None:
            if not flush:
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        if flush and self._saved < self.position:
            try:
                await self._save_latest()
            except Exception as exc:  # noqa: BLE001 - the next holder publishes the rest again
                log.warning("relay.progress_not_saved", error=repr(exc), position=self.position)
