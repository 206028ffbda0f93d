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
import contextlib
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
from shared.worker import Worker, describe

log = structlog.get_logger(__name__)

_BACKLOG_TIMEOUT = 0.05
"""How long a fetch waits for messages the server said were pending (they are already there)."""


def durable_name(consumer: str, producer: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{consumer}-{producer}")


class JetStreamConsumer:
    """Feeds one projection from JetStream, each producer in order, one follower (`Worker`) each."""

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
        self.forged: dict[str, int] = {}  # messages per producer that failed the signature check
        self._followers = {p: _ProducerFollower(self, p) for p in self._producers}

    @property
    def healthy(self) -> dict[str, bool]:
        """Per producer: whether its events are being applied (from JetStream or the feed)."""
        return {p: f.healthy for p, f in self._followers.items()}

    async def run(self) -> None:
        """Runs one follower per producer, each a `Worker` loop of its own, until `stop()`."""
        await asyncio.gather(*(f.run() for f in self._followers.values()))

    def stop(self) -> None:
        for follower in self._followers.values():
            follower.stop()

    async def _subscribe(self, producer: str) -> Any:
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
        return await js.pull_subscribe(
            self._stream.producer_filter(producer),
            durable=config.durable_name,
            stream=self._stream.name,
            config=config,
        )

    async def _fetch_behind(self, subscription: Any, first: list[Msg]) -> list[Msg]:
        """`first` and the messages the server has waiting behind it.

        Each delivered message says how many more are pending for this consumer. A lone event
        is handled at once; a backlog is taken in pages of up to `batch`. (nats-py's
        `fetch(n)` with a lingering request would wait until n messages arrived or its timeout
        passed, holding a lone event back.)
        """
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

    async def _probe_feed_if_up(self, producer: str) -> None:
        """Asks the feed for a missed tail; a feed that is down only delays that question."""
        try:
            await self._probe_feed(producer)
        except Exception as exc:  # noqa: BLE001 - JetStream goes on; the next probe asks again
            log.warning("consumer.feed_unavailable", producer=producer, error=describe(exc))

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


class _ProducerFollower(Worker):
    """One producer's events for a `JetStreamConsumer`: a step fetches and applies one page.

    A failed step drops the subscription (the next step makes a fresh one) and spends its
    backoff following the producer's feed, so the read model stays current while NATS is down.
    """

    retry_event = "consumer.retry"

    def __init__(self, consumer: JetStreamConsumer, producer: str) -> None:
        super().__init__()
        self._consumer = consumer
        self._producer = producer
        self._subscription: Any = None
        self._idle = 0.0  # seconds JetStream has been quiet

    def log_fields(self) -> dict[str, Any]:
        return {"consumer": self._consumer._runner.name, "producer": self._producer}

    async def step(self) -> bool:
        consumer, producer = self._consumer, self._producer
        if self._subscription is None:
            self._subscription = await consumer._subscribe(producer)
            self._idle = 0.0
            await consumer._probe_feed_if_up(producer)
        try:
            # Waiting for the first message is idle time: a stop ends it (what the server
            # delivers meanwhile is not acknowledged, so it is delivered again).
            first = await self.unless_stopped(self._subscription.fetch(1, timeout=consumer._fetch_timeout))
        except (NatsTimeoutError, TimeoutError):
            self._idle += consumer._fetch_timeout
            # Quiet for a while, or NATS lost and reconnecting: ask the feed.
            if self._idle >= consumer._probe_interval or not consumer._nats.connected:
                self._idle = 0.0
                await consumer._probe_feed_if_up(producer)
            return True
        if first is None:
            return False  # stopping
        self._idle = 0.0
        await consumer._handle(producer, await consumer._fetch_behind(self._subscription, first))
        return True

    async def after_failure(self, exc: Exception) -> None:
        await self._unsubscribe()

    async def wait_after_failure(self, delay: float) -> None:
        """Until NATS is tried again, keeps the read model current from the producer's feed."""
        consumer, producer = self._consumer, self._producer
        deadline = asyncio.get_running_loop().time() + delay
        while not self.stopping:
            if consumer._feeds.get(producer) is not None:
                try:
                    await consumer._probe_feed(producer)
                    self.healthy = True  # current, from the feed
                except Exception as exc:  # noqa: BLE001 - both sources down: wait for either
                    self.healthy = False
                    log.warning("consumer.feed_unavailable", producer=producer, error=describe(exc))
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await self._sleep(min(consumer._feed_poll, left))

    async def finish(self) -> None:
        await self._unsubscribe()

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


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

    retry_event = "local_consumer.retry"

    def __init__(
        self, runner: ProjectionRunner, source: EventSource, producer: str, *, poll: float = 1.0
    ) -> None:
        super().__init__()
        self._runner = runner
        self._source = source
        self._producer = producer
        self._poll = poll

    def log_fields(self) -> dict[str, Any]:
        return {"consumer": self._runner.name}

    async def step(self) -> bool:
        page = await self._source.read_after(self._runner.position(self._producer), 1000)
        if page:
            await self._runner.apply(self._producer, page)
        return bool(page)

    async def idle(self) -> None:
        position = self._runner.position(self._producer)
        await self.unless_stopped(self._source.committed.wait_beyond(position, self._poll))
