"""Which process of a service runs its relay: one at a time, the others stand by.

On PostgreSQL the lease is a session advisory lock held on a connection of its own; when
that process dies or loses its connection, the lock goes with it and a standby takes over.
A SQLite database lives on one machine and is served by one process, so its lease is always
held.
"""

from __future__ import annotations

import contextlib
import time
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# An arbitrary constant: the relay's lock in this service's own database.
RELAY_LOCK_KEY = 622925_0001


class Lease(Protocol):
    """A lease that at most one process holds at a time."""

    async def hold(self) -> bool:
        """True while this process holds the lease; tries to take it when it does not."""
        ...

    async def release(self) -> None: ...


class AlwaysHeld:
    """The lease of a single-process database."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLockLease:
    """A PostgreSQL session advisory lock on a dedicated connection."""

    def __init__(self, engine: AsyncEngine, key: int = RELAY_LOCK_KEY, check_every: float = 2.0) -> None:
        self._engine = engine
        self._key = key
        self._check_every = check_every  # how stale our belief in the lock may get, in seconds
        self._checked_at = 0.0
        self._connection: AsyncConnection | None = None

    async def hold(self) -> bool:
        if self._connection is not None:
            now = time.monotonic()
            if now - self._checked_at < self._check_every:
                return True
            try:
                await self._connection.execute(sa.text("SELECT 1"))
                self._checked_at = now
                return True
            except Exception:  # noqa: BLE001 - the connection, and with it the lock, is gone
                await self.release()
        connection = await self._engine.connect()
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = (
            await connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
        ).scalar_one()
        if taken:
            self._connection = connection
            self._checked_at = time.monotonic()
            return True
        await connection.close()
        return False

    async def release(self) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(Exception):
            await self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        with contextlib.suppress(Exception):
            await self._connection.close()
        self._connection = None


def relay_lease(engine: AsyncEngine) -> Lease:
    """The right lease for the engine's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLease(engine)
    return AlwaysHeld()
