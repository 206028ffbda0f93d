"""The SQLAlchemy event store: PostgreSQL in production, SQLite embedded, group commit on both.

How positions stay dense and unskippable: every append transaction first locks the single
`event_positions` row (`UPDATE … SET last = last … RETURNING last`), assigns the next integers,
inserts, writes the new `last` and commits. The lock is held until commit, and PostgreSQL makes
a commit visible before it releases the transaction's locks, so the next writer can only take
position N+1 after N is visible to every reader; a rolled-back append leaves `last` unchanged,
so no hole appears. On SQLite the same first UPDATE takes the database's write lock.

The lock serialises appends, so one transaction carries many (group commit): concurrent
`append` calls queue, and each commit takes everything queued, at most one request per stream.
A caller that finds nothing committing yields once, so that the appends ready in the same turn
of the event loop join its batch; if it is then alone, it commits in its own task. A commit
starts the next batch before its own callers wake, and a large batch gathered at once goes as
two halves, so the database commits one half while the other half's callers prepare their next
appends. On PostgreSQL each batch's events go in with one call to a server-side function.
Conflicts are decided per request inside the batch; a failing request never takes the others
down, and a caller who leaves (is cancelled) while its batch commits leaves the others their
results.

A request may carry an effect: a write that commits in the append's transaction. On PostgreSQL
a batch with effects opens a transaction, locks the positions row and reads its streams'
versions in one call, runs the effects of the requests whose version matched, and then calls
the same append function for the requests still standing, in that transaction; an effect that
raises refuses only its own request. A batch without effects is the function call alone,
autocommitted. SQLite takes every batch statement by statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.contracts.base import EventPayload
from shared.eventstore.envelope import AppendResult, Metadata, StoredEvent, utcnow
from shared.eventstore.errors import ConcurrencyConflict, StoreClosed, StoreUnavailable
from shared.eventstore.limits import DEFAULT_MAX_EVENT_BYTES, encode_checked
from shared.eventstore.ports import ANY_VERSION, CommitSignal, Effect, Sealer, Together
from shared.eventstore.schema import event_positions, events

# A lone request goes to a function of four plain statements; a batch goes to the set-based
# function (at most one request per stream). Measured: the lone one is cheaper for one request.
_APPEND_STREAM_SQL = "SELECT version, first FROM carepair_append_stream($1, $2, $3, $4, $5, $6, $7, $8)"
_APPEND_EVENTS_SQL = "SELECT versions, firsts FROM carepair_append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)"
# A batch with effects: the positions lock and its streams' versions, in one round trip.
_LOCK_STREAMS_SQL = "SELECT last, versions FROM carepair_lock_streams($1)"

_LOCK_POSITIONS = (
    sa.update(event_positions)
    .where(event_positions.c.id == 1)
    .values(last=event_positions.c.last)
    .returning(event_positions.c.last)
)

# What says the database could not be reached or dropped the connection: the write may be
# retried. Anything else the database refuses is an answer about the write itself.
_LOST = (
    OSError,
    OperationalError,
    sa.exc.InterfaceError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def _lost(exc: BaseException) -> bool:
    """Whether `exc` means the database was unavailable, not that it refused this write."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = exc.__cause__ if isinstance(exc, DBAPIError) else None
    return isinstance(exc, _LOST) or isinstance(cause, _LOST)


# A batch of at least this many requests gathered at once goes as two halves (see `_split`).
# Measured: halves of 8 gain more from working in parallel than the second commit costs;
# halves of 4 do not.
_SPLIT_AT = 16

# Streams read by one query of `read_streams`: under SQLite's oldest bound-parameter limit (999).
_READ_MANY = 900

Outcome = tuple["_Request", "AppendResult | BaseException"]


class _EffectRaised(Exception):
    """An effect raised in a batch run without savepoints: roll it back and run it with them."""


async def _effect_alone(conn: AsyncConnection, effect: Effect) -> None:
    """Runs an effect in a batch without savepoints; a raise rolls the batch back (`_EffectRaised`)."""
    try:
        await effect(conn)
    except Exception as exc:
        if conn.invalidated or _lost(exc):
            raise  # the connection is gone: the whole batch is unavailable
        raise _EffectRaised from exc


class _Group:
    """Neighbouring effects of a batch that share a `together` (`GroupedEffect`), run at once."""

    def __init__(self) -> None:
        self._together: Together | None = None
        self._members: list[tuple[int, Effect]] = []

    def joins(self, effect: Effect, index: int) -> bool:
        """Adds `effect` when it runs together with the group's; False otherwise."""
        together = getattr(effect, "together", None)
        if self._together is None or together != self._together:
            return False
        self._members.append((index, effect))
        return True

    def starts(self, effect: Effect, index: int) -> bool:
        """Starts a new group with `effect` if it can run together with others (the group is empty)."""
        together = getattr(effect, "together", None)
        if together is None:
            return False
        self._together, self._members = together, [(index, effect)]
        return True

    async def run(self, conn: AsyncConnection) -> dict[int, BaseException]:
        """Runs the group's effects at once; the refusals by request index. Empties the group."""
        together, members = self._together, self._members
        self._together, self._members = None, []
        if together is None or not members:
            return {}
        if len(members) == 1:
            await _effect_alone(conn, members[0][1])
            return {}
        try:
            failures = await together(conn, [effect for _, effect in members])
        except Exception as exc:
            if conn.invalidated or _lost(exc):
                raise
            raise _EffectRaised from exc
        return {index: failure for (index, _), failure in zip(members, failures, strict=True) if failure}


@dataclass(slots=True, eq=False)
class _Request:
    stream_id: str
    expected_version: int
    payloads: Sequence[EventPayload]
    datas: list[dict[str, Any]]
    texts: list[str]  # the datas as JSON text, encoded once
    meta: Metadata
    effect: Effect | None
    future: asyncio.Future[AppendResult]


class SqlEventStore:
    """Appends and reads events in one service's database (the table is also its outbox)."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: str,
        sealer: Sealer,
        *,
        max_batch: int = 1000,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.engine = engine
        self.producer = producer
        self.committed = CommitSignal()
        self.sealer = sealer
        self._max_batch = max_batch
        self._max_event_bytes = max_event_bytes
        self._postgres = engine.dialect.name == "postgresql"
        self._pending: deque[_Request] = deque()
        # One commit at a time: a second batch sent while one commits could reach the server
        # first, and a request it defers for a stream must see the earlier one committed.
        self._committing = False
        self._gathering = False  # a caller is yielding so that ready appends join its batch
        self._background: set[asyncio.Task[None]] = set()
        self._quiet = asyncio.Event()  # set when nothing is pending or committing
        self._quiet.set()
        self._open = False
        self._connection: tuple[AsyncConnection, Any] | None = None  # and its asyncpg driver
        # The connection kept for the transactions of batches with effects, and its driver.
        self._transactions: tuple[AsyncConnection, Any] | None = None
        self._in_transaction = False  # a batch is using it: whoever runs the batch closes it
        self.batches_committed = 0
        self.events_committed = 0
        # Transactions committed, by how their events went in: "function" (PostgreSQL's append
        # function, with or without effects) or "statements" (SQLite).
        self.commits_by_path: Counter[str] = Counter()

    async def start(self) -> None:
        """Reads the last committed position and starts taking writes."""
        await self.committed.notify(await self.last_position())
        self._open = True

    async def close(self, timeout: float = 30.0) -> None:
        """Stops taking writes and commits what is queued, waiting at most `timeout` seconds.

        What is still queued after that fails with `StoreClosed`: nothing of it was committed.
        """
        self._open = False
        try:
            await asyncio.wait_for(self._quiet.wait(), timeout)
        except TimeoutError:
            # Give up on the commit in flight: drop its connection (the server rolls back what
            # it had not committed) and stop its task; then fail what is still queued.
            for kept in (self._connection, self._transactions):
                if kept is not None:
                    kept[1].terminate()
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
            left = list(self._pending)
            self._pending.clear()
            self._fail(left, StoreClosed(f"the {self.producer} event store closed before this write"))
        # A commit given up on in its caller's own task still holds the transactions' connection:
        # that task closes it when its call fails.
        idle = [self._connection] if self._in_transaction else [self._connection, self._transactions]
        self._connection = self._transactions = None
        for connection, _ in filter(None, idle):
            with contextlib.suppress(Exception):  # closing is all that is left to do with it
                await connection.close()

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        payloads: Sequence[EventPayload],
        meta: Metadata,
        *,
        effect: Effect | None = None,
    ) -> AppendResult:
        if not self._open:
            raise StoreClosed(f"the {self.producer} event store is not accepting writes")
        datas = await self.sealer.seal_many(payloads)
        texts = encode_checked(stream_id, payloads, datas, meta, self._max_event_bytes)
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._pending.append(
            _Request(stream_id, expected_version, payloads, datas, texts, meta, effect, future)
        )
        self._quiet.clear()
        if self._committing or self._gathering:
            return await future  # a commit running, or a caller about to start one, takes it
        # Let the appends that are ready in this same turn of the loop join, so that they go
        # in one batch instead of one after another.
        self._gathering = True
        try:
            await asyncio.sleep(0)
        except BaseException:  # cancelled: the queue must not wait for a leader that left
            self._gathering = False
            if self._pending and not self._committing:
                self._start(self._take_batch())
            raise
        self._gathering = False
        if self._pending and not self._committing:
            batch = self._take_batch()
            if len(batch) == 1 and batch[0].future is future:
                # Only this caller's own append: commit it in this task and save the two turns
                # of the loop that starting a task and hearing back from it take.
                self._committing = True
                await self._commit(batch)
            else:
                self._start(self._split(batch))
        return await future

    def _split(self, batch: list[_Request]) -> list[_Request]:
        """A large batch that gathered at once goes as two halves that then take turns.

        When every caller waits on one batch, they all wake together, seal and encode their
        next appends while the database idles, and wait again while Python idles. With two
        halves, the second is sent as soon as the first returns, before the first's callers
        wake (see `_commit`); they prepare their next appends while it commits, and so on:
        the database and Python work at the same time.
        """
        if len(batch) < _SPLIT_AT:
            return batch
        half = len(batch) // 2
        self._pending.extendleft(reversed(batch[half:]))
        return batch[:half]

    def _take_batch(self) -> list[_Request]:
        """The next batch: queued requests in order, at most one per stream.

        A second request for a stream waits, ahead of the rest, for the next batch: it may
        depend on the first (its expected version), and the batch function checks every
        stream once.
        """
        batch: list[_Request] = []
        streams: set[str] = set()
        deferred: list[_Request] = []
        while self._pending and len(batch) < self._max_batch and len(deferred) < self._max_batch:
            request = self._pending.popleft()
            if request.stream_id in streams:
                deferred.append(request)
            else:
                streams.add(request.stream_id)
                batch.append(request)
        self._pending.extendleft(reversed(deferred))
        return batch

    def _start(self, batch: list[_Request]) -> None:
        self._committing = True
        task = asyncio.create_task(self._commit(batch), name=f"{self.producer}-commit")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _finished(self) -> None:
        """A commit ended: start the next batch with what queued meanwhile."""
        self._committing = False
        if self._pending:
            self._start(self._take_batch())
        else:
            self._quiet.set()

    async def _commit(self, batch: list[_Request]) -> None:
        """Commits a batch, then starts the next one before this one's callers wake.

        The next batch's task is scheduled before the callers' wake-ups, so it is sent first,
        and the server works on it while they run.
        """
        try:
            if not self._postgres:
                outcomes = await self._commit_by_statements(batch)
            elif any(r.effect is not None for r in batch):
                outcomes = await self._commit_with_effects(batch)
            else:
                outcomes = await self._commit_by_function(batch)
        except asyncio.CancelledError:  # `close` gave up on it: its callers must not wait forever
            self._fail(
                batch,
                StoreClosed(
                    f"the {self.producer} event store closed while this write was committing; whether "
                    "it was committed is unknown: read the stream before writing it again"
                ),
            )
            raise
        finally:
            self._finished()
        await self._settle(outcomes)

    async def _commit_by_statements(self, batch: list[_Request]) -> list[Outcome]:
        """Lock, check, insert and move the counter statement by statement (SQLite)."""
        try:
            return await self._statements(batch)
        except Exception as exc:
            return await self._after_failure(batch, exc, self._commit_by_statements)

    async def _statements(self, batch: list[_Request]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self.engine.begin() as conn:
            last = (await conn.execute(_LOCK_POSITIONS)).scalar_one()
            versions = await self._stream_versions(conn, {r.stream_id for r in batch})
            rows: list[dict[str, Any]] = []
            recorded_at = utcnow()
            for request in batch:
                current = versions.get(request.stream_id, 0)
                expected = request.expected_version
                if expected != ANY_VERSION and expected != current:
                    outcomes.append((request, ConcurrencyConflict(request.stream_id, expected, current)))
                    continue
                if request.effect is not None:
                    failure = await self._run_effect(conn, request)
                    if failure is not None:
                        outcomes.append((request, failure))
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
                outcomes.append((request, result))
                versions[request.stream_id] = current + count
                last += count
            if rows:
                await conn.execute(sa.insert(events), rows)
                await conn.execute(
                    sa.update(event_positions).where(event_positions.c.id == 1).values(last=last)
                )
        if rows:
            self.commits_by_path["statements"] += 1
        return outcomes

    async def _commit_with_effects(self, batch: list[_Request]) -> list[Outcome]:
        """PostgreSQL, a batch with effects: the effects, then the append function, in one transaction.

        First without savepoints, which cost two round trips per effect: when every effect
        returns, that transaction commits. When one raises, it is rolled back whole and the batch
        runs again with a savepoint around each effect, so that only the raising one's request
        is refused. An effect therefore runs again after a rollback, as it already does when the
        database refuses a batch (see `_after_failure`); it must not commit, so nothing of a
        rolled-back run remains.
        """
        try:
            try:
                return await self._effects_then_function(batch, savepoints=False)
            except _EffectRaised:
                return await self._effects_then_function(batch, savepoints=True)
        except Exception as exc:
            return await self._after_failure(batch, exc, self._commit_with_effects)

    async def _effects_then_function(self, batch: list[_Request], *, savepoints: bool) -> list[Outcome]:
        """Locks the positions, checks every request's version, runs the effects, then appends.

        The lock and the versions come in one call (`carepair_lock_streams`, migration es0004).

        An effect runs only for a request whose version matched, after the lock is taken and
        before any event is inserted. With `savepoints`, each runs in a savepoint of its own: an
        effect that raises refuses its own request and leaves nothing behind. Without, the first
        effect that raises stops the batch (`_EffectRaised`) and rolls it back; neighbouring
        effects that can run together (`GroupedEffect`: a run of registrations, say) run in one
        call, which refuses its own failures one by one. The requests
        still standing go to the append function in the same transaction, in one statement;
        under the lock it sees the versions checked here, and places its positions after the
        locked `last`.
        """
        refused: dict[int, BaseException] = {}  # by the request's index in the batch
        stream_ids = [r.stream_id for r in batch]
        async with self._transaction() as conn:
            locked = (await conn.exec_driver_sql(_LOCK_STREAMS_SQL, (stream_ids,))).one()
            versions = dict(zip(stream_ids, locked.versions, strict=True))
            group = _Group()  # neighbouring effects that run together
            for index, request in enumerate(batch):
                current = versions[request.stream_id]
                expected = request.expected_version
                if expected != ANY_VERSION and expected != current:
                    refused[index] = ConcurrencyConflict(request.stream_id, expected, current)
                elif request.effect is None:
                    continue
                elif savepoints:
                    failure = await self._run_effect(conn, request)
                    if failure is not None:
                        refused[index] = failure
                elif group.joins(request.effect, index):
                    continue
                else:
                    refused.update(await group.run(conn))
                    if group.starts(request.effect, index):
                        continue
                    await _effect_alone(conn, request.effect)
            if not savepoints:
                refused.update(await group.run(conn))
            standing = [r for index, r in enumerate(batch) if index not in refused]
            appended: list[Outcome] = []
            if standing:
                query, args = self._function_call(standing)
                row = (await conn.exec_driver_sql(query, args)).one()
                appended = self._decided(standing, row)
                if any(isinstance(outcome, BaseException) for _, outcome in appended):
                    # The lock is held and the versions were checked under it: nothing can
                    # have moved. Roll back rather than commit an effect without its events.
                    raise RuntimeError("a stream moved under the positions lock")
        if standing:
            self.commits_by_path["function"] += 1
        results = iter(appended)
        return [
            (request, refused[index]) if index in refused else next(results)
            for index, request in enumerate(batch)
        ]

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction on the connection kept for batches with effects.

        A connection from the pool would cost three round trips more per batch: the pool tests
        it before handing it out (BEGIN, a ping, ROLLBACK).
        """
        if self._transactions is None:
            connection = await self.engine.connect()
            self._transactions = (connection, (await connection.get_raw_connection()).driver_connection)
        connection = self._transactions[0]
        self._in_transaction = True
        try:
            async with connection.begin():
                yield connection
        except _EffectRaised:
            raise  # an effect refused its append: rolled back, and the connection is sound
        except BaseException:
            # Failed, or cancelled mid-call: its state is unknown, so it is not used again.
            self._transactions = None
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()
            raise
        finally:
            self._in_transaction = False

    async def _commit_by_function(self, batch: list[_Request]) -> list[Outcome]:
        """PostgreSQL: the whole batch in one round trip, one statement that commits on its own.

        Typed arrays travel in binary; only each event's data is JSON text.
        """
        try:
            query, args = self._function_call(batch)
            row = await self._call(query, *args)
        except Exception as exc:
            return await self._after_failure(batch, exc, self._commit_by_function)
        self.commits_by_path["function"] += 1
        return self._decided(batch, row)

    def _function_call(self, batch: list[_Request]) -> tuple[str, tuple[Any, ...]]:
        """The append function's call for a batch: the lone-request one for a single request."""
        if len(batch) == 1:
            r = batch[0]
            return _APPEND_STREAM_SQL, (
                r.stream_id,
                r.expected_version,
                r.meta.correlation_id,
                r.meta.causation_id,
                r.meta.actor,
                *self._event_arrays(batch),
            )
        return _APPEND_EVENTS_SQL, (
            [r.stream_id for r in batch],
            [r.expected_version for r in batch],
            [len(r.payloads) for r in batch],
            [r.meta.correlation_id for r in batch],
            [r.meta.causation_id for r in batch],
            [r.meta.actor for r in batch],
            *self._event_arrays(batch),
        )

    @staticmethod
    def _decided(batch: list[_Request], row: Any) -> list[Outcome]:
        """Each request's result from the function's answer (a version and a first position)."""
        if len(batch) == 1:
            answers = [tuple(row)]
        else:
            versions, firsts = row
            answers = list(zip(versions, firsts, strict=True))
        decided: list[Outcome] = []
        for request, (version, first) in zip(batch, answers, strict=True):
            if first == 0:  # the expected version did not match; `version` is the stream's
                conflict = ConcurrencyConflict(request.stream_id, request.expected_version, version)
                decided.append((request, conflict))
            else:
                positions = tuple(range(first, first + len(request.payloads)))
                decided.append((request, AppendResult(request.stream_id, version, positions)))
        return decided

    async def _after_failure(
        self,
        batch: list[_Request],
        exc: Exception,
        commit: Callable[[list[_Request]], Awaitable[list[Outcome]]],
    ) -> list[Outcome]:
        """A lost database fails the batch as unavailable; a refusal is traced to its request.

        Refused, and not by a check of ours: each request is committed alone, so that only the
        one the database refuses fails, with the database's own answer.
        """
        if _lost(exc):
            return self._failed(batch, self._unavailable(exc))
        if len(batch) > 1:
            return [outcome for request in batch for outcome in await commit([request])]
        return self._failed(batch, exc)

    @staticmethod
    def _event_arrays(batch: list[_Request]) -> tuple[list[Any], ...]:
        """Event types, schema versions and data (as JSON text), in request order.

        The server draws the event ids.
        """
        types: list[str] = []
        versions: list[int] = []
        datas: list[str] = []
        for request in batch:
            for payload in request.payloads:
                types.append(payload.event_type)
                versions.append(payload.schema_version)
            datas.extend(request.texts)
        return types, versions, datas

    async def _call(self, query: str, *args: Any) -> Any:
        """Runs one autocommitting statement on the connection kept for appends (no pool hop)."""
        if self._connection is None:
            connection = await self.engine.connect()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = (connection, (await connection.get_raw_connection()).driver_connection)
        connection, driver = self._connection
        try:
            return await driver.fetchrow(query, *args)
        except BaseException:
            # Failed, or cancelled mid-call: its state is unknown, so it is not used again.
            self._connection = None
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()
            raise

    @staticmethod
    def _fail(batch: list[_Request], exc: BaseException) -> None:
        for request in batch:
            if not request.future.done():
                request.future.set_exception(exc)

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"the {self.producer} database did not take the write: {exc}")

    @staticmethod
    def _failed(batch: list[_Request], exc: BaseException) -> list[Outcome]:
        return [(request, exc) for request in batch]

    async def _settle(self, outcomes: list[Outcome]) -> None:
        """Hands each caller its result or error, then signals the commit."""
        last = 0
        for request, outcome in outcomes:
            if isinstance(outcome, AppendResult) and outcome.positions:
                self.events_committed += len(outcome.positions)
                last = max(last, outcome.last_position)
            if request.future.done():  # its caller was cancelled; the append stands regardless
                continue
            if isinstance(outcome, BaseException):
                request.future.set_exception(outcome)
            else:
                request.future.set_result(outcome)
        if last:
            self.batches_committed += 1
            await self.committed.notify(last)

    @staticmethod
    async def _run_effect(conn: AsyncConnection, request: _Request) -> Exception | None:
        """Runs the request's effect in a savepoint; its own failure fails only its request."""
        assert request.effect is not None
        savepoint = await conn.begin_nested()
        try:
            await request.effect(conn)
        except Exception as exc:
            if conn.invalidated or _lost(exc):
                raise  # the connection is gone: the whole batch is unavailable, not this write
            await savepoint.rollback()
            return exc
        await savepoint.commit()
        return None

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

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        """Many streams at once: one query per `_READ_MANY` streams, on one connection."""
        found: dict[str, list[StoredEvent]] = {s: [] for s in stream_ids}
        wanted = list(found)
        if not wanted:
            return found
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _READ_MANY):
                query = (
                    sa.select(events)
                    .where(events.c.stream_id.in_(wanted[start : start + _READ_MANY]))
                    .order_by(events.c.stream_id, events.c.stream_version)
                )
                for row in await conn.execute(query):
                    found[row.stream_id].append(self._stored(row))
        return found

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]:
        query = sa.select(events).where(events.c.position > position).order_by(events.c.position).limit(limit)
        async with self.engine.connect() as conn:
            return [self._stored(row) for row in await conn.execute(query)]

    async def last_position(self) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(event_positions.c.last).where(event_positions.c.id == 1)
            return int((await conn.execute(query)).scalar_one())

    def _stored(self, row: sa.Row[Any]) -> StoredEvent:
        return stored_event(row, self.producer)


def stored_event(row: Any, producer: str) -> StoredEvent:
    """An event as stored, from a row of the `events` table (for a query that reads it directly)."""
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
        producer=producer,
        data=row.data,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
