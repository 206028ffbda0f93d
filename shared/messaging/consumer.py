"""Durable JetStream pull consumers that apply events in order and fill gaps from the feed.

One subscription per producer takes all of that producer's subjects. Each fetched page is
sorted by position; what is at or below the checkpoint is acknowledged without effect; a jump
is filled from the producer's HTTP feed before the page is applied; the page's effects and
checkpoint commit together and only then are the messages acknowledged. When JetStream stays
quiet, the consumer asks the feed now and then whether it missed the tail, so a lost last
message or a purged stream is noticed without waiting for new traffic.

A message whose signature is missing or wrong was not published by the producer: it is never
applied, `consumer.forged_message` is logged as an error and counted, and the consumer reads
the producer's feed for whatever that message stood in the place of. The feed is the record.

Neither source alone can freeze it. While NATS is out of reach, it follows the producer's feed
instead, every `feed_poll` seconds, until NATS answers again. While a feed is down, it keeps
consuming JetStream: only a hole in the positions waits for the feed, since nothing may be
applied past it.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
import structlog
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.eventstore.envelope import StoredEvent
from shared.messaging.connection import NatsConnection
from shared.messaging.feed import FeedClient
from shared.messaging.projection import Gap, ProjectionRunner
from shared.messaging.relay import EventSource
from shared.messaging.signing import Verifier
from shared.messaging.stream import POSITION_HEADER, StreamSettings
from shared.worker import Worker

log = structlog.get_logger(__name__)

_BACKLOG_TIMEOUT = 0.05
"""How long a fetch waits for messages the server said were pending (they are already there)."""


def durable_name(consumer: str, producer: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{consumer}-{producer}")


class JetStreamConsumer(Worker):
    """Feeds one projection from JetStream, one producer at a time, in order."""

    def __init__(
        self,
        runner: ProjectionRunner,
        nats: NatsConnection,
        stream: StreamSettings,
        feeds: dict[str, FeedClient],
        *,
        producers: tuple[str, ...] | None = None,
        batch: int = 500,
        fetch_timeout: float = 1.0,
        feed_probe_interval: float = 10.0,
        feed_poll: float = 0.5,
        ack_wait: float = 30.0,
        verifier: Verifier | None = None,
    ) -> None:
        super().__init__()
        self._runner = runner
        self._verifier = verifier
        self._producers = producers or runner.projection.producers
        self._nats = nats
        self._stream = stream
        self._feeds = feeds
        self._batch = batch
        self._fetch_timeout = fetch_timeout
        self._probe_interval = feed_probe_interval
        self._feed_poll = feed_poll
        self._ack_wait = ack_wait
        self.healthy: dict[str, bool] = {p: False for p in self._producers}
        self.forged: dict[str, int] = {}  # messages per producer that failed the signature check

    async def run(self) -> None:
        await asyncio.gather(*(self._follow(p) for p in self._producers))

    async def _follow(self, producer: str) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._consume(producer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS, the feed or the database: retry
                self.healthy[producer] = False
                log.warning(
                    "consumer.retry",
                    consumer=self._runner.name,
                    producer=producer,
                    error=repr(exc),
                    backoff=backoff,
                )
                await self._follow_feed(producer, backoff)
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = 0.2

    async def _consume(self, producer: str) -> None:
        # A fresh subscription each time we (re)enter: after a server restart the old one may
        # never deliver again.
        js = await self._nats.jetstream()
        config = ConsumerConfig(
            durable_name=durable_name(self._runner.name, producer),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=20_000,
            filter_subject=self._stream.producer_filter(producer),
        )
        subscription = await js.pull_subscribe(
            self._stream.producer_filter(producer),
            durable=config.durable_name,
            stream=self._stream.name,
            config=config,
        )
        try:
            idle = 0.0
            await self._probe_feed_if_up(producer)
            while not self._stopping.is_set():
                try:
                    messages = await self._fetch(subscription)
                except (NatsTimeoutError, TimeoutError):
                    self.healthy[producer] = True
                    idle += self._fetch_timeout
                    # Quiet for a while, or NATS lost and reconnecting: ask the feed.
                    if idle >= self._probe_interval or not self._nats.connected:
                        idle = 0.0
                        await self._probe_feed_if_up(producer)
                    continue
                idle = 0.0
                await self._handle(producer, messages)
                self.healthy[producer] = True
        finally:
            await subscription.unsubscribe()

    async def _fetch(self, subscription: Any) -> list[Msg]:
        """Waits for the first message, then takes those the server has waiting behind it.

        Each delivered message says how many more are pending for this consumer. A lone event
        is handled at once; a backlog is taken in pages of up to `batch`. (nats-py's
        `fetch(n)` with a lingering request would wait until n messages arrived or its timeout
        passed, holding a lone event back.)
        """
        first = await subscription.fetch(1, timeout=self._fetch_timeout)
        waiting = min(_pending_after(first[-1]), self._batch - 1)
        if waiting <= 0:
            return first
        try:
            # They are already on the server; if another process of this service takes
            # some of them meanwhile, stop waiting soon and handle what arrived.
            rest = await subscription.fetch(waiting, timeout=_BACKLOG_TIMEOUT)
        except (NatsTimeoutError, TimeoutError):
            rest = []
        return [*first, *rest]

    async def _handle(self, producer: str, messages: list[Msg]) -> None:
        genuine = [m for m in messages if self._is_genuine(producer, m)]
        events: dict[int, StoredEvent] = {}
        for message in genuine:
            event = _decode(message)
            if event is not None:
                events[event.position] = event
        ordered = sorted(events.values(), key=lambda e: e.position)
        # Unparseable messages carry their position in a header; the feed supplies their content.
        await self._apply_filling_gaps(producer, ordered, _max_position(genuine))
        if len(genuine) < len(messages):
            # A forgery claims nothing we trust, not even its position: ask the feed what is there.
            await self._probe_feed(producer)
        for message in messages:
            await message.ack()

    def _is_genuine(self, producer: str, message: Msg) -> bool:
        if self._verifier is None:
            return True
        problem = self._verifier.problem(producer, message.headers, message.data)
        if problem is None:
            return True
        self.forged[producer] = self.forged.get(producer, 0) + 1
        headers = message.headers or {}
        log.error(
            "consumer.forged_message",
            consumer=self._runner.name,
            producer=producer,
            subject=message.subject,
            problem=problem,
            claimed_position=headers.get(POSITION_HEADER, "")[:20],
            claimed_event_id=headers.get("Nats-Msg-Id", "")[:40],
            remedy="not applied; the producer's feed is read instead",
        )
        return False

    async def _apply_filling_gaps(self, producer: str, events: list[StoredEvent], upto: int) -> None:
        try:
            await self._runner.apply(producer, events)
        except Gap as gap:
            filled = await self._feeds[producer].read_range(gap.after, gap.next_position - 1)
            log.warning(
                "consumer.gap_filled",
                consumer=self._runner.name,
                producer=producer,
                after=gap.after,
                count=len(filled),
            )
            await self._runner.apply(producer, sorted(filled + events, key=lambda e: e.position))
        if upto > self._runner.position(producer):
            filled = await self._feeds[producer].read_range(self._runner.position(producer), upto)
            await self._runner.apply(producer, filled)

    async def _follow_feed(self, producer: str, seconds: float) -> None:
        """Until NATS is tried again, keeps the read model current from the producer's feed."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stopping.is_set():
            if self._feeds.get(producer) is not None:
                try:
                    await self._probe_feed(producer)
                    self.healthy[producer] = True  # current, from the feed
                except Exception as exc:  # noqa: BLE001 - both sources down: wait for either
                    self.healthy[producer] = False
                    log.warning("consumer.feed_unavailable", producer=producer, error=repr(exc))
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await self._sleep(min(self._feed_poll, left))

    async def _probe_feed_if_up(self, producer: str) -> None:
        """Asks the feed for a missed tail; a feed that is down only delays that question."""
        try:
            await self._probe_feed(producer)
        except Exception as exc:  # noqa: BLE001 - JetStream goes on; the next probe asks again
            log.warning("consumer.feed_unavailable", producer=producer, error=repr(exc))

    async def _probe_feed(self, producer: str) -> None:
        feed = self._feeds.get(producer)
        if feed is None:
            return
        while True:
            page = await feed.read_after(self._runner.position(producer), 500)
            if not page:
                return
            log.info("consumer.caught_up_from_feed", consumer=self._runner.name, count=len(page))
            await self._runner.apply(producer, page)


def _decode(message: Msg) -> StoredEvent | None:
    try:
        return StoredEvent.from_wire(orjson.loads(message.data))
    except (ValueError, KeyError, TypeError):
        log.error("consumer.malformed_message", subject=message.subject)
        return None


def _pending_after(message: Msg) -> int:
    """How many more messages the server holds for this consumer after `message`."""
    try:
        return int(message.metadata.num_pending or 0)
    except (NotJSMessageError, ValueError, TypeError):  # not a JetStream delivery: assume none
        return 0


def _max_position(messages: list[Msg]) -> int:
    positions = [0]
    for message in messages:
        try:
            positions.append(int((message.headers or {}).get(POSITION_HEADER, 0)))
        except ValueError:
            continue
    return max(positions)


class LocalConsumer(Worker):
    """Feeds a projection from the service's own store (its own read models), woken on commit."""

    def __init__(
        self, runner: ProjectionRunner, source: EventSource, producer: str, *, poll: float = 1.0
    ) -> None:
        super().__init__()
        self._runner = runner
        self._source = source
        self._producer = producer
        self._poll = poll
        self.healthy = False

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                position = self._runner.position(self._producer)
                page = await self._source.read_after(position, 1000)
                if page:
                    await self._runner.apply(self._producer, page)
                else:
                    await self._source.committed.wait_beyond(position, self._poll)
                self.healthy = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is down: retry
                self.healthy = False
                log.warning("local_consumer.retry", consumer=self._runner.name, error=repr(exc))
                await self._sleep(1.0)
