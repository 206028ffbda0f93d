"""Where each service's database lives, how to reach it, and how it is created and migrated.

Every service owns one database. With no `CAREPAIR_DATABASE_URL` it is a SQLite file under the
data directory; with a PostgreSQL URL it is a database of its own on that server whose name is
the URL's database name plus `_<service>` (`carepair` → `carepair_pairing`). A per-service URL
(`CAREPAIR_<SERVICE>_DATABASE_URL`) overrides both.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class DatabaseUrlError(ValueError):
    """A database URL that carepair cannot use."""


def service_database_url(service: str, base_url: str | None, override: str | None, data_dir: Path) -> URL:
    """Returns the plain (driverless) URL of `service`'s own database."""
    if override:
        return _checked(make_url(override))
    if not base_url:
        return make_url(f"sqlite:///{(data_dir / f'{service}.sqlite').resolve()}")
    url = _checked(make_url(base_url))
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or data_dir)
        return url.set(database=str((path / f"{service}.sqlite").resolve()))
    return url.set(database=f"{url.database or 'carepair'}_{service}")


def _checked(url: URL) -> URL:
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise DatabaseUrlError(f"unsupported database {backend!r}: use a postgresql:// or sqlite:/// URL")
    return url.set(drivername=backend)


def async_url(url: URL) -> URL:
    """The URL with carepair's async driver: asyncpg or aiosqlite."""
    backend = url.get_backend_name()
    return url.set(drivername="postgresql+asyncpg" if backend == "postgresql" else "sqlite+aiosqlite")


def sync_url(url: URL) -> URL:
    """The URL with carepair's sync driver (for migrations and tools): psycopg or sqlite3."""
    backend = url.get_backend_name()
    return url.set(drivername="postgresql+psycopg" if backend == "postgresql" else "sqlite")


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def dialect_insert(dialect_name: str) -> Any:
    """The INSERT construct with ON CONFLICT for the dialect: carepair runs on these two only."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def create_engine_for(url: URL, *, pool_size: int = 10) -> AsyncEngine:
    """Creates the async engine a service runs on; SQLite gets WAL and a busy timeout."""
    json = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if is_sqlite(url):
        engine = create_async_engine(async_url(url), connect_args={"timeout": 30}, **json)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: after a database restart, pooled connections are dead; test before use.
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **json
    )


def _json_text(value: Any) -> str:
    """JSON columns are written and read with orjson: every event read is a document to parse,
    by each of the relay, the read models' consumers and the command that loads a stream."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # WAL is a property of the file, set once by `ensure_database`: switching it here would
    # need an exclusive lock that a busy neighbour refuses at once ("database is locked").
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ensure_database(url: URL) -> None:
    """Creates the database (PostgreSQL) or its folder (SQLite) when it does not exist yet."""
    if is_sqlite(url):
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(url.database, timeout=30)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        return
    import psycopg

    name = url.database
    admin = sync_url(url).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{name}"')
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process created it between our check and our create


def migrate(url: URL, version_locations: Sequence[Path]) -> None:
    """Creates the database if needed and upgrades it to every head of the given Alembic trees."""
    from alembic import command
    from alembic.config import Config

    ensure_database(url)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("version_locations", " ".join(str(Path(p).resolve()) for p in version_locations))
    config.set_main_option("path_separator", "space")
    config.attributes["url"] = sync_url(url)
    with _migration_lock(url):
        command.upgrade(config, "heads")


@contextlib.contextmanager
def _migration_lock(url: URL) -> Iterator[None]:
    # Several services migrate the shared key store at once. PostgreSQL serialises them with an
    # advisory lock in env.py; a SQLite file gets a file lock beside it.
    if not is_sqlite(url) or not url.database:
        yield
        return
    import fcntl

    with open(f"{url.database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def ping(engine: AsyncEngine) -> None:
    """Raises when the database does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
