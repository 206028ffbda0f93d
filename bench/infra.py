"""The servers a run needs: fresh PostgreSQL databases, a NATS server, and the machine's facts."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url

from shared.database import migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS
from shared.launcher.nats_server import EmbeddedNats

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> URL:
    given = os.environ.get("CAREPAIR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return make_url(given).set(drivername="postgresql")


def dsn(url: URL) -> str:
    """A libpq connection string (for psycopg and asyncpg) from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(server: URL) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn(server.set(database="postgres")), autocommit=True)


@contextlib.asynccontextmanager
async def fresh_database(server: URL, tag: str, *, event_store: bool = True) -> AsyncIterator[URL]:
    """A new empty database (with the event-store tables unless told not), dropped afterwards."""
    url = server.set(database=f"carepair_bench_{tag}_{uuid.uuid4().hex[:8]}")
    if event_store:
        migrate(url, [EVENTSTORE_MIGRATIONS])
    else:
        with _admin(server) as conn:
            conn.execute(f'CREATE DATABASE "{url.database}"')
    try:
        yield url
    finally:
        with _admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@contextlib.contextmanager
def nats_server() -> Iterator[str]:
    """`CAREPAIR_BENCH_NATS_URL`, or an embedded server (JetStream, sync_interval always)."""
    given = os.environ.get("CAREPAIR_BENCH_NATS_URL")
    if given:
        yield given
        return
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="carepair-bench-nats-"))).start()
    try:
        yield server.url
    finally:
        server.stop()


def machine(server: URL, nats_version: str) -> dict[str, Any]:
    """What the numbers were measured on: hardware, software, and the durability settings."""
    with _admin(server) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
        }
    return {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": settings.pop("server_version"),
        "postgresql_settings": settings,
        "nats_server": nats_version,
        "libraries": {name: _version(name) for name in _LIBRARIES},
    }


_LIBRARIES = ("sqlalchemy", "asyncpg", "psycopg", "nats-py", "eventsourcing", "uvloop")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None
