"""The relay and consumers over a real NATS JetStream and a real database."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from carepair.launcher.nats_server import EmbeddedNats, free_port
from shared.eventstore import NO_STREAM, Metadata
from shared.messaging.connection import NatsConnection
from shared.messaging.consumer import JetStreamConsumer
from shared.messaging.feed import FeedClient, FeedUnavailable
from shared.messaging.relay import Relay, SqlRelayProgress, headers_for
from shared.messaging.stream import StreamSettings
from tests.support.contracts import ThingRenamed, thing
from tests.support.messaging import feed_client, recording_runner, seen_positions, wire
from tests.support.stores import sql_store

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
META = Metadata(actor="tester")


@pytest.fixture
def stream(stream_name: str, nats_cleanup: None) -> StreamSettings:
    return StreamSettings(name=stream_name, subject_prefix=stream_name.lower())


@pytest.fixture
async def store(pg_url: Any) -> AsyncIterator[Any]:
    async with sql_store(pg_url) as s:
        yield s


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def append_things(store: Any, numbers: range) -> None:
    """One `thing(n)` on its own new stream `s-<n>` for each n, one append at a time."""
    for n in numbers:
        await store.append(f"s-{n}", NO_STREAM, [thing(n)], META)


def relay_for(store: Any, nats_url: str, stream: StreamSettings) -> Relay:
    return Relay(store, SqlRelayProgress(store.engine), NatsConnection(nats_url, "t"), stream)


@contextlib.asynccontextmanager
async def running(*workers: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            w.stop()
        await asyncio.wait(tasks, timeout=10)
        for t in tasks:
            t.cancel()


async def stream_messages(nats_url: str, stream: StreamSettings) -> int:
    nc = await nats.connect(nats_url)
    try:
        return (await nc.jetstream().stream_info(stream.name)).state.messages
    finally:
        await nc.close()


async def test_the_relay_publishes_in_order_with_the_event_id_as_message_id(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await append_things(store, range(5))
    relay = Relay(
        store, SqlRelayProgress(store.engine), NatsConnection(nats_url, "t"), stream, poll_interval=60
    )
    async with running(relay):
        await eventually(lambda: _at(relay, 5))
        # With a 60 s fallback poll, only the commit wake-up can deliver this in time.
        await store.append("late", NO_STREAM, [thing(9)], META)
        await eventually(lambda: _at(relay, 6), timeout=20)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stored = await store.read_after(0)
        for seq, event in enumerate(stored, start=1):
            msg = await js.get_msg(stream.name, seq)
            assert msg.subject == f"{stream.subject_prefix}.testsvc.ThingHappened"
            assert msg.headers["Nats-Msg-Id"] == str(event.event_id)
            assert msg.headers["Carepair-Position"] == str(event.position)
            assert "张三" not in msg.data.decode()
    finally:
        await nc.close()
    assert await SqlRelayProgress(store.engine).load() == 6


async def _at(relay: Relay, position: int) -> bool:
    return relay.position >= position


async def test_a_relay_that_restarts_from_scratch_publishes_no_duplicates(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await append_things(store, range(20))
    relay = relay_for(store, nats_url, stream)
    async with running(relay):
        await eventually(lambda: _at(relay, 20))
    await SqlRelayProgress(store.engine).save(0)  # as if it crashed before recording progress
    again = relay_for(store, nats_url, stream)
    async with running(again):
        await eventually(lambda: _at(again, 20))
    assert await stream_messages(nats_url, stream) == 20


async def test_with_nats_down_the_relay_backs_off_and_resumes_losing_nothing(
    store: Any, stream: StreamSettings
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="carepair-nats-restart-"))
    port = free_port()
    server = EmbeddedNats(data_dir, port=port).start()
    relay = Relay(
        store, SqlRelayProgress(store.engine), NatsConnection(server.url, "t"), stream, max_backoff=0.5
    )
    try:
        async with running(relay):
            await store.append("before", NO_STREAM, [thing(0)], META)
            await eventually(lambda: _at(relay, 1))
            server.stop()
            for n in range(1, 11):  # writes go on while NATS is down
                await store.append(f"down-{n}", NO_STREAM, [thing(n)], META)
            await asyncio.sleep(1.0)
            assert relay.position < 11
            server = EmbeddedNats(data_dir, port=port).start()
            await eventually(lambda: _at(relay, 11), timeout=30)
        assert await stream_messages(server.url, stream) == 11
    finally:
        server.stop()


async def _consumer(store: Any, nats_url: str, stream: StreamSettings, runner: Any) -> JetStreamConsumer:
    return JetStreamConsumer(
        runner,
        NatsConnection(nats_url, "c"),
        stream,
        {"testsvc": feed_client(store)},
        fetch_timeout=0.2,
        feed_probe_interval=0.5,
    )


async def test_a_consumer_applies_each_event_once_in_order_and_steps_over_other_types(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await append_things(store, range(10))
    await store.append("r", NO_STREAM, [ThingRenamed(thing="x", title="y")], META)
    relay = relay_for(store, nats_url, stream)
    async with recording_runner(store) as runner:
        consumer = await _consumer(store, nats_url, stream, runner)
        async with running(relay, consumer):
            await eventually(lambda: _runner_at(runner, 11))
            # Redeliver two old events by hand (different message ids, so JetStream keeps them).
            nc = await nats.connect(nats_url)
            js = nc.jetstream()
            for event in (await store.read_after(0))[:2]:
                headers = {**headers_for(event), "Nats-Msg-Id": f"again-{event.event_id}"}
                await js.publish(stream.subject("testsvc", event.event_type), wire(event), headers=headers)
            await nc.close()
            await store.append("after", NO_STREAM, [thing(99)], META)
            await eventually(lambda: _runner_at(runner, 12))
        assert await seen_positions(store) == [*range(1, 11), 12]


async def _runner_at(runner: Any, position: int) -> bool:
    return runner.position("testsvc") >= position


async def test_a_consumer_takes_a_backlog_as_one_page_and_a_lone_event_without_lingering(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await append_things(store, range(5))
    relay = relay_for(store, nats_url, stream)
    pages: list[list[int]] = []  # the positions of every page the read model is given
    async with recording_runner(store) as runner:
        apply = runner.apply

        async def recording_apply(producer: str, events: list[Any]) -> None:
            pages.append([e.position for e in events])
            await apply(producer, events)

        runner.apply = recording_apply  # type: ignore[method-assign]
        # No feed, so that every event comes from JetStream; a fetch that lingered for a full
        # page would hold a lone event for its whole 30 s timeout.
        consumer = JetStreamConsumer(runner, NatsConnection(nats_url, "c"), stream, {}, fetch_timeout=30)
        async with running(relay):
            await eventually(lambda: _at(relay, 5))
            async with running(consumer):
                await eventually(lambda: _runner_at(runner, 5))
                await store.append("lone", NO_STREAM, [thing(9)], META)
                await eventually(lambda: _runner_at(runner, 6), timeout=15)
    # The first message says four more wait: they come in the same page. The lone event's
    # message says none wait, so it is applied alone, at once.
    assert pages == [[1, 2, 3, 4, 5], [6]]
    assert await seen_positions(store) == [1, 2, 3, 4, 5, 6]


class GatedProgress:
    """The real progress store, with each write held until the test opens the gate."""

    def __init__(self, inner: SqlRelayProgress) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def load(self) -> int:
        return await self.inner.load()

    async def save(self, position: int) -> None:
        self.writing.set()
        await self.gate.wait()
        await self.inner.save(position)


async def test_the_relay_publishes_on_while_its_progress_is_written_and_records_the_last_on_stop(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    progress = GatedProgress(SqlRelayProgress(store.engine))
    relay = Relay(store, progress, NatsConnection(nats_url, "t"), stream)
    async with running(relay):
        await store.append("s-0", NO_STREAM, [thing(0)], META)
        await asyncio.wait_for(progress.writing.wait(), 15)  # the first write is held
        await append_things(store, range(1, 5))
        await eventually(lambda: _at(relay, 5))  # published and acknowledged all the same
        assert await progress.inner.load() == 0
        progress.gate.set()
    assert await progress.inner.load() == 5  # stopping wrote the last acknowledged position
    assert await stream_messages(nats_url, stream) == 5


class FailingOnceProgress(GatedProgress):
    """The real progress store, whose first write fails as if the database had gone."""

    def __init__(self, inner: SqlRelayProgress) -> None:
        super().__init__(inner)
        self.gate.set()
        self.failures = 0

    async def save(self, position: int) -> None:
        if not self.failures:
            self.failures += 1
            raise OSError("connection refused")
        await super().save(position)


async def test_a_failed_progress_write_is_retried_and_loses_nothing(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    progress = FailingOnceProgress(SqlRelayProgress(store.engine))
    relay = Relay(store, progress, NatsConnection(nats_url, "t"), stream, poll_interval=0.2)
    async with running(relay):
        await append_things(store, range(5))
        await eventually(lambda: _saved(progress, 5))
        assert progress.failures == 1
    assert await stream_messages(nats_url, stream) == 5  # published again after the failure: no repeats


async def _saved(progress: GatedProgress, position: int) -> bool:
    return await progress.inner.load() >= position


async def test_a_message_lost_by_jetstream_is_filled_from_the_producer_feed(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await append_things(store, range(6))
    relay = relay_for(store, nats_url, stream)
    async with running(relay):
        await eventually(lambda: _at(relay, 6))
    nc = await nats.connect(nats_url)
    await nc.jetstream().delete_msg(stream.name, 3)  # as if lost in a power failure
    await nc.jetstream().delete_msg(stream.name, 6)  # and the last one too: no later message shows the gap
    await nc.close()
    async with recording_runner(store) as runner:
        consumer = await _consumer(store, nats_url, stream, runner)
        async with running(consumer):
            await eventually(lambda: _runner_at(runner, 6))
    assert await seen_positions(store) == [1, 2, 3, 4, 5, 6]


async def test_a_malformed_message_is_replaced_by_the_producers_copy(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    await store.append("s", NO_STREAM, [thing(1), thing(2)], META)
    events = await store.read_after(0)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(stream.config())
    await js.publish(
        stream.subject("testsvc", "ThingHappened"), wire(events[0]), headers=headers_for(events[0])
    )
    await js.publish(stream.subject("testsvc", "ThingHappened"), b"{not json", headers=headers_for(events[1]))
    await nc.close()
    async with recording_runner(store) as runner:
        consumer = await _consumer(store, nats_url, stream, runner)
        async with running(consumer):
            await eventually(lambda: _runner_at(runner, 2))
    assert await seen_positions(store) == [1, 2]


async def test_the_feed_refuses_a_missing_or_wrong_service_credential(store: Any) -> None:
    await store.append("s", NO_STREAM, [thing(1)], META)
    assert [e.position for e in await feed_client(store).read_after(0)] == [1]
    with pytest.raises(FeedUnavailable, match="401.*wrong_credential"):
        await feed_client(store, token="not-the-right-token-at-all").read_after(0)
    import httpx

    from tests.support.messaging import feed_app

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=feed_app(store)), base_url="http://p"
    ) as c:
        response = await c.get("/feed/events")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_credential"


async def test_relay_and_consumer_both_recover_when_the_nats_server_restarts_under_load(
    store: Any, stream: StreamSettings
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="carepair-nats-restart-"))
    port = free_port()
    server = EmbeddedNats(data_dir, port=port).start()
    relay = Relay(
        store, SqlRelayProgress(store.engine), NatsConnection(server.url, "t"), stream, max_backoff=0.5
    )
    try:
        async with recording_runner(store) as runner:
            consumer = await _consumer(store, server.url, stream, runner)
            async with running(relay, consumer):

                async def write(start: int, count: int) -> None:
                    for n in range(start, start + count):
                        await store.append(f"load-{n}", NO_STREAM, [thing(n)], META)
                        await asyncio.sleep(0.002)

                writer = asyncio.create_task(write(0, 300))
                await eventually(lambda: _runner_at(runner, 50))
                server.stop()  # mid-stream: the writer goes on, relay and consumer lose the server
                await asyncio.sleep(1.0)
                server = EmbeddedNats(data_dir, port=port).start()
                await writer
                await write(300, 20)
                await eventually(lambda: _runner_at(runner, 320), timeout=60)
        assert await seen_positions(store) == list(range(1, 321))
    finally:
        server.stop()


async def test_two_processes_of_one_service_relay_one_at_a_time_and_the_standby_takes_over(
    pg_url: Any, nats_url: str, stream: StreamSettings
) -> None:
    from shared.messaging.lease import relay_lease

    async with sql_store(pg_url) as first_store, sql_store(pg_url) as second_store:
        first = Relay(
            first_store,
            SqlRelayProgress(first_store.engine),
            NatsConnection(nats_url, "a"),
            stream,
            poll_interval=0.2,
            lease=relay_lease(first_store.engine),
        )
        second = Relay(
            second_store,
            SqlRelayProgress(second_store.engine),
            NatsConnection(nats_url, "b"),
            stream,
            poll_interval=0.2,
            lease=relay_lease(second_store.engine),
        )
        for n in range(10):
            await first_store.append(f"s-{n}", NO_STREAM, [thing(n)], META)
        async with running(first):
            await eventually(lambda: _at(first, 10))
            async with running(second):
                await eventually(lambda: _flag(second, "standby"))
                for n in range(10, 20):
                    await second_store.append(f"s-{n}", NO_STREAM, [thing(n)], META)
                await eventually(lambda: _at(first, 20))
                assert second.published == 0
                first.stop()  # the leader goes away; its lock goes with its connection
                await asyncio.sleep(0.5)
                for n in range(20, 25):
                    await second_store.append(f"s-{n}", NO_STREAM, [thing(n)], META)
                await eventually(lambda: _at(second, 25))
                assert not second.standby
        assert second.published == 5  # it took over from the recorded progress, not from zero
        assert await stream_messages(nats_url, stream) == 25


async def _flag(relay: Relay, name: str) -> bool:
    return bool(getattr(relay, name))


async def test_the_relay_keeps_one_jetstream_context_however_many_pages_it_publishes(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    """Each JetStream context subscribes for its acks: one per page grew without end."""
    connection = NatsConnection(nats_url, "t")
    relay = Relay(store, SqlRelayProgress(store.engine), connection, stream)
    async with running(relay):
        for n in range(40):
            await append_things(store, range(n, n + 1))
            await eventually(lambda n=n: _at(relay, n + 1))  # type: ignore[misc]
        subscriptions = len((await connection.client())._subs)
    await connection.drain()
    assert subscriptions <= 2, f"{subscriptions} subscriptions after 40 pages"


async def test_an_event_too_large_for_nats_is_stepped_over_and_consumers_take_it_from_the_feed(
    pg_url: Any, nats_url: str, stream: StreamSettings
) -> None:
    """Stored before the store had its limit: the relay used to retry it forever, publishing nothing."""
    async with sql_store(pg_url, max_event_bytes=4 * 1024 * 1024) as big_store:
        await append_things(big_store, range(2))
        await big_store.append("big", NO_STREAM, [thing(2, name="长" * 600_000)], META)
        await append_things(big_store, range(3, 6))
        relay = relay_for(big_store, nats_url, stream)
        async with running(relay):
            await eventually(lambda: _at(relay, 6))
        assert relay.skipped == [3]
        assert await stream_messages(nats_url, stream) == 5
        async with recording_runner(big_store) as runner:
            consumer = await _consumer(big_store, nats_url, stream, runner)
            async with running(consumer):
                await eventually(lambda: _runner_at(runner, 6))
        assert await seen_positions(big_store) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("after", ["9223372036854775808", "-1", "99999999999999999999999"])
async def test_a_feed_position_out_of_range_is_a_400(store: Any, after: str) -> None:
    import httpx

    from tests.support.messaging import FEED_TOKEN, feed_app

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=feed_app(store)),
        base_url="http://p",
        headers={"Authorization": f"Bearer {FEED_TOKEN}"},
    ) as c:
        response = await c.get("/feed/events", params={"after": after})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_position"


async def test_with_nats_out_of_reach_a_consumer_follows_the_producers_feed(
    store: Any, stream: StreamSettings
) -> None:
    """Started during a NATS outage, a consumer used to stay frozen for the whole outage."""
    unreachable = NatsConnection(f"nats://127.0.0.1:{free_port()}", "c")
    async with recording_runner(store) as runner:
        consumer = JetStreamConsumer(
            runner, unreachable, stream, {"testsvc": feed_client(store)}, feed_poll=0.05
        )
        async with running(consumer):
            await append_things(store, range(3))
            await eventually(lambda: _runner_at(runner, 3))
            await append_things(store, range(3, 5))
            await eventually(lambda: _runner_at(runner, 5))
            assert consumer.healthy == {"testsvc": True}
    assert await seen_positions(store) == [1, 2, 3, 4, 5]


class _DownTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the producer is down", request=request)


async def test_with_the_producers_feed_down_a_consumer_keeps_consuming_jetstream(
    store: Any, nats_url: str, stream: StreamSettings
) -> None:
    down = FeedClient("http://producer", "token-of-no-use", transport=_DownTransport())
    relay = relay_for(store, nats_url, stream)
    async with recording_runner(store) as runner:
        consumer = JetStreamConsumer(
            runner, NatsConnection(nats_url, "c"), stream, {"testsvc": down}, fetch_timeout=0.2
        )
        async with running(relay, consumer):
            await append_things(store, range(4))
            await eventually(lambda: _runner_at(runner, 4))
    assert await seen_positions(store) == [1, 2, 3, 4]
