"""The SQLAlchemy event store: PostgreSQL in production, SQLite embedded, group commit on both.

How positions stay dense and unskippable: every append transaction first locks the single
`event_positions` row (`UPDATE … SET last = last … RETURNING last`), assigns the next integers,
inserts, writes the new `last` and commits. The lock is held until commit, and PostgreSQL makes
a commit visible before it releases the transaction's locks, so the next writer can only take
position N+1 after N is visible to every reader; a rolled-back append leaves `last` unchanged,
so no hole appears. On SQLite the same first UPDATE takes the database's write lock.

The lock serialises appends, so one transaction carries many: every concurrent `append` is
queued, and one writer task commits everything that queued while the previous commit ran
(group commit). A lone append, when nothing is committing, commits in its caller's task and
skips the hand-over. Conflicts are decided per request inside the batch; a failing request
never takes the others down.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.contracts.base import EventPayload
from shared.eventstore.envelope import AppendResult, Metadata, StoredEvent, utcnow
from shared.eventstore.errors import ConcurrencyConflict, StoreClosed, StoreUnavailable
from shared.eventstore.ports import ANY_VERSION, CommitSignal, Effect, Sealer
from shared.eventstore.schema import event_positions, events

_APPEND_BATCH_SQL = "SELECT carepair_append_batch($1::jsonb)::text"

_LOCK_POSITIONS = (
    sa.update(event_positions)
    .where(event_positions.c.id == 1)
    .values(last=event_positions.c.last)
    .returning(event_positions.c.last)
)


@dataclass
class _Request:
    stream_id: str
    expected_version: int
    payloads: Sequence[EventPayload]
    datas: list[dict[str, Any]]
    meta: Metadata
    effect: Effect | None
    future: asyncio.Future[AppendResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SqlEventStore:
    """Appends and reads events in one service's database (the table is also its outbox)."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: str,
        sealer: Sealer,
        *,
        max_batch: int = 1000,
    ) -> None:
        self.engine = engine
        self.producer = producer
        self.committed = CommitSignal()
        self._sealer = sealer
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._writer_connection: AsyncConnection | None = None
        self._committing = asyncio.Lock()  # one commit at a time, by the writer or a lone caller
        self.batches_committed = 0
        self.events_committed = 0

    async def start(self) -> None:
        """Reads the last committed position and starts the group-commit writer."""
        await self.committed.notify(await self.last_position())
        self._writer = asyncio.create_task(self._write_loop(), name=f"{self.producer}-writer")

    async def close(self) -> None:
        """Commits what is queued, then stops taking writes."""
        self._closing = True
        if self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        async with self._committing:  # a caller's own commit may still be running
            if self._writer_connection is not None:
                await self._writer_connection.close()
                self._writer_connection = None

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        meta: Metadata,
        *,
        effect: Effect | None = None,
    ) -> AppendResult:
        if self._closing or self._writer is None:
            raise StoreClosed(f"the {self.producer} event store is not accepting writes")
        datas = await self._sealer.seal_many(payloads)
        request = _Request(stream_id, expected_version, payloads, datas, meta, effect)
        if self._queue.empty() and not self._committing.locked():
            # Nothing is committing: commit in the caller's task and save the hand-over to the
            # writer. Requests arriving meanwhile queue up and go together in the next commit.
            async with self._committing:
                await self._commit([request])
            return await request.future
        self._queue.put_nowait(request)
        return await request.future

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            async with self._committing:
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    await self._commit(batch)
                finally:
                    for _ in batch:
                        self._queue.task_done()

    async def _commit(self, batch: list[_Request]) -> None:
        if self.engine.dialect.name == "postgresql" and all(r.effect is None for r in batch):
            await self._commit_in_one_call(batch)
            return
        accepted: list[tuple[_Request, AppendResult]] = []
        try:
            async with self.engine.begin() as conn:
                last = (await conn.execute(_LOCK_POSITIONS)).scalar_one()
                versions = await self._stream_versions(conn, {r.stream_id for r in batch})
                rows: list[dict[str, Any]] = []
                recorded_at = utcnow()
                for request in batch:
                    current = versions.get(request.stream_id, 0)
                    expected = request.expected_version
                    if expected != ANY_VERSION and expected != current:
                        request.future.set_exception(
                            ConcurrencyConflict(request.stream_id, expected, current)
                        )
                        continue
                    if request.effect is not None and not await self._run_effect(conn, request):
                        continue
                    count = len(request.payloads)
                    for offset, (payload, data) in enumerate(
                        zip(request.payloads, request.datas, strict=True), start=1
                    ):
                        rows.append(
                            self._row(request, payload, data, current + offset, last + offset, recorded_at)
                        )
                    result = AppendResult(
                        request.stream_id,
                        current + count,
                        tuple(range(last + 1, last + count + 1)),
                    )
                    accepted.append((request, result))
                    versions[request.stream_id] = current + count
                    last += count
                if rows:
                    await conn.execute(sa.insert(events), rows)
                    await conn.execute(
                        sa.update(event_positions).where(event_positions.c.id == 1).values(last=last)
                    )
        except (OperationalError, DBAPIError, OSError) as exc:
            self._fail(batch, StoreUnavailable(f"the {self.producer} database did not take the write: {exc}"))
            return
        except Exception as exc:  # a bug: fail the batch loudly rather than hang its callers
            self._fail(batch, exc)
            return
        await self._settle(accepted)

    async def _commit_in_one_call(self, batch: list[_Request]) -> None:
        """PostgreSQL: the whole batch in one round trip to `carepair_append_batch`."""
        requests = [
            {
                "stream_id": r.stream_id,
                "expected": r.expected_version,
                "correlation_id": str(r.meta.correlation_id),
                "causation_id": str(r.meta.causation_id) if r.meta.causation_id else None,
                "actor": r.meta.actor,
                "events": [
                    {
                        "event_id": str(uuid.uuid4()),
                        "event_type": payload.event_type,
                        "schema_version": payload.schema_version,
                        "data": data,
                    }
                    for payload, data in zip(r.payloads, r.datas, strict=True)
                ],
            }
            for r in batch
        ]
        try:
            driver = await self._writer_driver_connection()
            # One statement outside any transaction block: it commits on its own.
            outcome = orjson.loads(await driver.fetchval(_APPEND_BATCH_SQL, orjson.dumps(requests).decode()))
        except (OperationalError, DBAPIError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self._drop_writer_connection()
            self._fail(batch, StoreUnavailable(f"the {self.producer} database did not take the write: {exc}"))
            return
        except Exception as exc:  # a bug: fail the batch loudly rather than hang its callers
            self._fail(batch, exc)
            return
        accepted: list[tuple[_Request, AppendResult]] = []
        for request, result in zip(batch, outcome, strict=True):
            if "conflict" in result:
                request.future.set_exception(
                    ConcurrencyConflict(request.stream_id, request.expected_version, result["conflict"])
                )
                continue
            first, count = result["first"], len(request.payloads)
            positions = tuple(range(first, first + count))
            accepted.append((request, AppendResult(request.stream_id, result["version"], positions)))
        await self._settle(accepted)

    async def _writer_driver_connection(self) -> Any:
        """The writer's own asyncpg connection, checked out once and kept (no pool hop per batch)."""
        if self._writer_connection is None:
            connection = await self.engine.connect()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._writer_connection = connection
        raw = await self._writer_connection.get_raw_connection()
        return raw.driver_connection

    async def _drop_writer_connection(self) -> None:
        if self._writer_connection is not None:
            with contextlib.suppress(Exception):
                await self._writer_connection.invalidate()
                await self._writer_connection.close()
            self._writer_connection = None

    @staticmethod
    def _fail(batch: list[_Request], exc: BaseException) -> None:
        for request in batch:
            if not request.future.done():
                request.future.set_exception(exc)

    async def _settle(self, accepted: list[tuple[_Request, AppendResult]]) -> None:
        for request, result in accepted:
            request.future.set_result(result)
        committed = [result for _, result in accepted if result.positions]
        if committed:
            self.batches_committed += 1
            self.events_committed += sum(len(r.positions) for r in committed)
            await self.committed.notify(max(r.last_position for r in committed))

    @staticmethod
    async def _run_effect(conn: AsyncConnection, request: _Request) -> bool:
        assert request.effect is not None
        savepoint = await conn.begin_nested()
        try:
            await request.effect(conn)
        except Exception as exc:  # the effect's own failure fails only its own request
            await savepoint.rollback()
            request.future.set_exception(exc)
            return False
        await savepoint.commit()
        return True

    @staticmethod
    async def _stream_versions(conn: AsyncConnection, stream_ids: set[str]) -> dict[str, int]:
        # One scalar subquery per stream, each an index probe on (stream_id, stream_version):
        # a grouped max over all the batch's rows degrades to scans on a plan cached while the
        # table was small.
        probes = [
            sa.select(
                sa.literal(stream_id).label("stream_id"),
                sa.select(sa.func.max(events.c.stream_version))
                .where(events.c.stream_id == stream_id)
                .scalar_subquery()
                .label("version"),
            )
            for stream_id in sorted(stream_ids)
        ]
        query = probes[0] if len(probes) == 1 else sa.union_all(*probes)
        return {stream_id: version for stream_id, version in await conn.execute(query) if version is not None}

    @staticmethod
    def _row(
        request: _Request,
        payload: EventPayload,
        data: dict[str, Any],
        version: int,
        position: int,
        recorded_at: datetime,
    ) -> dict[str, Any]:
        meta = request.meta
        return {
            "position": position,
            "event_id": uuid.uuid4(),
            "stream_id": request.stream_id,
            "stream_version": version,
            "event_type": payload.event_type,
            "schema_version": payload.schema_version,
            "data": data,
            "occurred_at": recorded_at,
            "recorded_at": recorded_at,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
            "actor": meta.actor,
        }

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        query = (
            sa.select(events)
            .where(events.c.stream_id == stream_id, events.c.stream_version > after_version)
            .order_by(events.c.stream_version)
        )
        async with self.engine.connect() as conn:
            return [self._stored(row) for row in await conn.execute(query)]

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]:
        query = sa.select(events).where(events.c.position > position).order_by(events.c.position).limit(limit)
        async with self.engine.connect() as conn:
            return [self._stored(row) for row in await conn.execute(query)]

    async def last_position(self) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(event_positions.c.last).where(event_positions.c.id == 1)
            return int((await conn.execute(query)).scalar_one())

    def _stored(self, row: sa.Row[Any]) -> StoredEvent:
        return StoredEvent(
            position=row.position,
            event_id=row.event_id,
            event_type=row.event_type,
            schema_version=row.schema_version,
            stream_id=row.stream_id,
            stream_version=row.stream_version,
            occurred_at=_aware(row.occurred_at),
            recorded_at=_aware(row.recorded_at),
            correlation_id=row.correlation_id,
            causation_id=row.causation_id,
            actor=row.actor,
            producer=self.producer,
            data=row.data,
        )


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
