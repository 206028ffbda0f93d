"""The key store on SQL (PostgreSQL or SQLite): data keys wrapped under a master key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.database import dialect_insert
from shared.personal.ciphers import cipher_named
from shared.personal.keystore import DataKey, PersonErased
from shared.personal.master_key import MasterKey

KEYSTORE_MIGRATIONS: Path = Path(__file__).parent / "migrations" / "versions"

_metadata = sa.MetaData()
data_keys = sa.Table(
    "data_keys",
    _metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("master_key_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
)

# Stays under SQLite's oldest bound-parameter limit (999); one query up to this many persons.
_BATCH = 900


class UnknownMasterKey(LookupError):
    """A data key wrapped under a master key this process is not configured with."""


class SqlKeyStore:
    """Keeps each person's data key wrapped (AEAD, aad = person id) in the `data_keys` table.

    Creation is race-safe across processes: insert-on-conflict-do-nothing, then read back, so
    concurrent writers agree on one key. Destruction nulls the wrapped key and keeps the row,
    so an erased person can never be given a fresh key. Keys wrapped under a retired master
    key still read when that key is passed in `retired_masters`; new keys use `master`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        master: MasterKey,
        algorithm: str = "aes-256-gcm",
        *,
        retired_masters: Iterable[MasterKey] = (),
    ) -> None:
        cipher_named(algorithm)  # fails early on an unknown name
        self.engine = engine
        self.algorithm = algorithm
        self._master = master
        self._masters = {m.key_id: m for m in retired_masters}
        self._masters[master.key_id] = master
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"SqlKeyStore runs on PostgreSQL or SQLite, not {dialect}")
        self._insert: Any = dialect_insert(dialect)

    async def key_for_writing(self, person_id: str) -> DataKey:
        key = (await self.keys_for_writing([person_id]))[person_id]
        if key is None:
            raise PersonErased(person_id)
        return key

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        """Reads the keys there are, inserts the missing ones in one statement, reads those back.

        Three round trips for any number of persons (per `_BATCH`). The insert is a transaction
        of its own holding only inserts: on SQLite it starts as a write and waits on the busy
        timeout instead of failing; on PostgreSQL a rival's insert of the same person makes
        it a no-op, and the rival's key is the one read back.
        """
        found = await self._read(list(dict.fromkeys(person_ids)))
        # Inserted in one order everywhere: two processes inserting overlapping sets wait for
        # each other instead of deadlocking.
        missing = sorted(pid for pid, row in found.items() if row is None)
        if missing:
            insert = self._insert(data_keys).on_conflict_do_nothing(index_elements=["person_id"])
            async with self.engine.begin() as conn:  # executemany: batched into multi-row inserts
                await conn.execute(insert, [self._new_row(pid) for pid in missing])
            found.update(await self._read(missing))
        keys: dict[str, DataKey | None] = {}
        for pid, row in found.items():
            if row is None:  # pragma: no cover - the insert or a rival's insert is committed
                raise RuntimeError(f"data key of {pid!r} vanished after insert")
            keys[pid] = self._unwrap(row)
        return keys

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        found = await self._read(list(dict.fromkeys(person_ids)))
        return {pid: None if row is None else self._unwrap(row) for pid, row in found.items()}

    async def _read(self, wanted: list[str]) -> dict[str, sa.RowMapping | None]:
        """The rows of `wanted` (None where absent), in one query per `_BATCH` persons."""
        found: dict[str, sa.RowMapping | None] = dict.fromkeys(wanted)
        if not wanted:
            return found
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _BATCH):
                query = sa.select(data_keys).where(data_keys.c.person_id.in_(wanted[start : start + _BATCH]))
                for row in (await conn.execute(query)).mappings():
                    found[row["person_id"]] = row
        return found

    async def destroy(self, person_id: str) -> None:
        now = datetime.now(UTC)
        tombstone = self._tombstone(person_id, now)
        async with self.engine.begin() as conn:
            await self._insert_on(conn, tombstone)
            await conn.execute(
                sa.update(data_keys)
                .where(data_keys.c.person_id == person_id, data_keys.c.destroyed_at.is_(None))
                .values(wrapped_key=None, destroyed_at=now)
            )

    async def is_destroyed(self, person_id: str) -> bool:
        row = await self._row(person_id)
        return row is not None and row["destroyed_at"] is not None

    async def _row(self, person_id: str) -> sa.RowMapping | None:
        async with self.engine.connect() as conn:
            query = sa.select(data_keys).where(data_keys.c.person_id == person_id)
            return (await conn.execute(query)).mappings().first()

    async def _insert_on(self, conn: AsyncConnection, values: dict[str, Any]) -> None:
        statement = self._insert(data_keys).values(**values)
        await conn.execute(statement.on_conflict_do_nothing(index_elements=["person_id"]))

    def _new_row(self, person_id: str) -> dict[str, Any]:
        key = DataKey.generate(person_id, self.algorithm)
        wrapped = self._master.cipher.encrypt(self._master.key, key.key, _aad(person_id))
        return {
            "person_id": person_id,
            "algorithm": key.algorithm,
            "wrapped_key": wrapped,
            "master_key_id": self._master.key_id,
            "created_at": datetime.now(UTC),
            "destroyed_at": None,
        }

    def _tombstone(self, person_id: str, now: datetime) -> dict[str, Any]:
        return {
            "person_id": person_id,
            "algorithm": self.algorithm,
            "wrapped_key": None,
            "master_key_id": self._master.key_id,
            "created_at": now,
            "destroyed_at": now,
        }

    def _unwrap(self, row: sa.RowMapping) -> DataKey | None:
        wrapped: bytes | None = row["wrapped_key"]
        if wrapped is None or row["destroyed_at"] is not None:
            return None
        master = self._masters.get(row["master_key_id"])
        if master is None:
            raise UnknownMasterKey(
                f"the data key of {row['person_id']!r} is wrapped under master key "
                f"{row['master_key_id']!r}, which is not configured (configured: "
                f"{', '.join(sorted(self._masters))})"
            )
        raw = master.cipher.decrypt(master.key, bytes(wrapped), _aad(row["person_id"]))
        return DataKey(row["person_id"], row["algorithm"], raw)


def _aad(person_id: str) -> bytes:
    return person_id.encode("utf-8")
