"""The servers a run needs: fresh PostgreSQL databases, a NATS server, and the machine's facts."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import nats
import psycopg
from sqlalchemy.engine import URL, make_url

from carepair.launcher.nats_server import EmbeddedNats
from shared.database import migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS

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
    data_dir = Path(tempfile.mkdtemp(prefix="carepair-bench-nats-"))
    server = EmbeddedNats(data_dir).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


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


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the code under test had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "shared", "services")
    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted_changes": bool(changed)}


def contention() -> dict[str, Any]:
    """How busy the machine is besides us: load average and CPU pressure (Linux PSI)."""
    facts: dict[str, Any] = {"load_average": [round(v, 2) for v in os.getloadavg()]}
    with contextlib.suppress(OSError, ValueError, IndexError):
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        fields = dict(item.split("=") for item in some[1:])
        facts["cpu_pressure_some_avg60"] = float(fields["avg60"])
    return facts


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


async def delete_stream(nats_url: str, stream: str) -> None:
    """Deletes a bench's JetStream stream; a server already gone takes its streams with it."""
    with contextlib.suppress(Exception):
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().delete_stream(stream)
        finally:
            await client.close()


async def nats_version(nats_url: str) -> str:
    """The NATS server's version, for the machine's facts; "unknown" when it cannot be asked."""
    try:
        client = await nats.connect(nats_url)
    except Exception:  # noqa: BLE001 - the version is a fact, not a requirement
        return "unknown"
    try:
        return str(client._server_info.get("version", "unknown"))  # noqa: SLF001 - no public accessor
    finally:
        await client.close()
