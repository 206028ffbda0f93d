"""Applies a producer's events to a read model, in order, exactly once, with its checkpoint.

A batch of events from one producer is applied in one transaction that also moves the
checkpoint; the caller acknowledges the messages only after that commit. Events at or below
the checkpoint are skipped (a redelivery or a duplicate has no second effect); an event beyond
checkpoint + 1 is a gap, and the runner refuses to pass it.

A projection takes its events one by one (`handlers`: one per event type, simple), or a whole
batch at once (`Projection.batched`: one handler given every envelope it wants, in order, so it
can write them with a few statements). `Rows` helps a batch handler: it loads the rows a batch
touches with one query per table (per 500 keys), lets the events change them in memory, and
writes back each row's last state with one multi-row statement per kind of change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.eventstore.envelope import Envelope, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.ports import CommitSignal
from shared.messaging import checkpoints

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]
BatchHandler = Callable[[AsyncConnection, Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    """A named read model: the producers it follows, and how it applies the event types it uses.

    Either `handlers` (one per event type, each given one envelope) or `batch` (given every
    envelope of a batch whose type is in `types`, in order, once per transaction).
    """

    name: str
    producers: tuple[str, ...]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch: BatchHandler | None = None
    types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.batch is not None and self.handlers:
            raise ValueError(f"{self.name}: a projection has per-event handlers or a batch handler, not both")
        if self.batch is None and self.types:
            raise ValueError(f"{self.name}: `types` lists what a batch handler takes; there is none")
        if self.batch is not None and not self.types:
            raise ValueError(f"{self.name}: a batch handler needs the event types it takes")

    @classmethod
    def batched(
        cls, name: str, producers: tuple[str, ...], types: Collection[str], handler: BatchHandler
    ) -> Projection:
        """A projection whose `handler` takes all the envelopes of `types` in a batch at once."""
        return cls(name=name, producers=producers, batch=handler, types=frozenset(types))

    @property
    def event_types(self) -> frozenset[str]:
        """The event types this projection applies; the others only move its checkpoint."""
        return self.types if self.batch is not None else frozenset(self.handlers)

    def one_by_one(self) -> Projection:
        """The same projection applying each event alone (a batch of one): for comparisons."""
        batch = self.batch
        if batch is None:
            return self

        async def single(conn: AsyncConnection, envelope: Envelope) -> None:
            await batch(conn, [envelope])

        return Projection(self.name, self.producers, dict.fromkeys(self.types, single))


class Gap(Exception):
    """Events are missing between the checkpoint and the next event: fill them first."""

    def __init__(self, producer: str, after: int, next_position: int) -> None:
        super().__init__(f"{producer}: events {after + 1}..{next_position - 1} are missing")
        self.producer = producer
        self.after = after
        self.next_position = next_position


class ProjectionRunner:
    """Applies batches to one projection and knows how far it got with each producer."""

    def __init__(self, engine: AsyncEngine, projection: Projection, opener: EventOpener) -> None:
        self.engine = engine
        self.projection = projection
        self._opener = opener
        self.signals = {producer: CommitSignal() for producer in projection.producers}
        self.applied = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def start(self) -> None:
        await checkpoints.ensure_rows(self.engine, self.name, list(self.projection.producers))
        for producer, position in (await checkpoints.read_all(self.engine, self.name)).items():
            if producer in self.signals:
                await self.signals[producer].notify(position)

    async def refresh(self) -> None:
        """Reads the checkpoints again: another process of this service may have moved them."""
        for producer, position in (await checkpoints.read_all(self.engine, self.name)).items():
            if producer in self.signals:
                await self.signals[producer].notify(position)

    def position(self, producer: str) -> int:
        return self.signals[producer].position

    async def apply(self, producer: str, events: Sequence[StoredEvent]) -> int:
        """Applies what is new in `events` (sorted by position); returns the new checkpoint.

        Raises `Gap` when the first new event does not follow the checkpoint, before any effect.
        """
        projection = self.projection
        async with self.engine.begin() as conn:
            position = await checkpoints.lock_and_read(conn, self.name, producer)
            fresh = [e for e in events if e.position > position]
            if not fresh:
                # Another process of this service may have applied them: catch up the signal.
                await self.signals[producer].notify(position)
                return position
            expected = position + 1
            for event in fresh:
                if event.position != expected:
                    raise Gap(producer, expected - 1, event.position)
                expected += 1
            types = projection.event_types
            wanted = [e for e in fresh if e.event_type in types]
            envelopes = await self._opener.open_many(wanted) if wanted else []
            if projection.batch is not None:
                if envelopes:
                    with structlog.contextvars.bound_contextvars(
                        event_positions=f"{envelopes[0].position}..{envelopes[-1].position}"
                    ):
                        await projection.batch(conn, envelopes)
            else:
                for envelope in envelopes:
                    with structlog.contextvars.bound_contextvars(
                        correlation_id=str(envelope.correlation_id), event_position=envelope.position
                    ):
                        await projection.handlers[envelope.event_type](conn, envelope)
            position = fresh[-1].position
            await checkpoints.advance(conn, self.name, producer, position)
        self.applied += len(fresh)
        await self.signals[producer].notify(position)
        return position


Key = tuple[Any, ...]
Row = dict[str, Any]

_LOAD_CHUNK = 500  # keys per SELECT: well under every driver's limit on bound parameters


class NotLoaded(LookupError):
    """A batch handler read or changed a row it never loaded: load every key it may touch first."""


class Rows:
    """The rows of one read-model table that a batch touches, kept in memory and written back once.

    Load the keys a batch may touch (`load`, `load_where`), apply the events to the rows in
    memory (`get`, `insert`, `upsert`, `update`, `delete`, `matching`), then `flush`: one DELETE,
    one UPDATE and one INSERT at most, each for many rows, write every row's last state. Keys are
    tuples of the primary key's values in column order. A row the batch never loaded can be
    inserted (the INSERT fails if it exists, as a plain insert would) but not read or changed.
    """

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.key_columns = tuple(c.name for c in table.primary_key.columns)
        self._stored: dict[Key, Row] = {}
        self._current: dict[Key, Row | None] = {}

    def key(self, row: Mapping[str, Any]) -> Key:
        return tuple(row[c] for c in self.key_columns)

    async def load(self, conn: AsyncConnection, keys: Iterable[Key]) -> None:
        """Loads the rows with these keys; a key with no row is known to be absent."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._current]
        columns = [self.table.c[c] for c in self.key_columns]
        for start in range(0, len(wanted), _LOAD_CHUNK):
            chunk = wanted[start : start + _LOAD_CHUNK]
            if len(columns) == 1:
                clause = columns[0].in_([k[0] for k in chunk])
            else:
                clause = sa.tuple_(*columns).in_(chunk)
            await self.load_where(conn, clause)
            for key in chunk:
                self._current.setdefault(key, None)

    async def load_where(self, conn: AsyncConnection, *clauses: sa.ColumnElement[bool]) -> None:
        """Loads every row that matches `clauses` (rows already in memory keep their changes)."""
        for found in (await conn.execute(sa.select(self.table).where(*clauses))).mappings():
            row = dict(found)
            key = self.key(row)
            if key not in self._current:
                self._stored[key] = row
                self._current[key] = dict(row)

    def get(self, key: Key) -> Row | None:
        """The row's state in this batch (None if absent); change it with `update`, not in place."""
        if key not in self._current:
            raise NotLoaded(f"{self.table.name}: row {key!r} was not loaded")
        return self._current[key]

    def insert(self, row: Mapping[str, Any]) -> None:
        """A new row (every column not given is NULL)."""
        key = self.key(row)
        if self._current.get(key) is not None:
            raise ValueError(f"{self.table.name}: row {key!r} exists already")
        self._current[key] = {c.name: None for c in self.table.columns} | dict(row)

    def upsert(self, row: Mapping[str, Any]) -> None:
        """Inserts the row, or sets the given columns of the row with its key."""
        key = self.key(row)
        existing = self.get(key)
        if existing is None:
            self.insert(row)
        else:
            self._current[key] = existing | dict(row)

    def update(self, key: Key, **values: Any) -> bool:
        """Sets columns of the row with this key, if there is one; says whether there was."""
        existing = self.get(key)
        if existing is None:
            return False
        self._current[key] = existing | values
        return True

    def delete(self, key: Key) -> None:
        """Removes the row with this key, if there is one."""
        self.get(key)
        self._current[key] = None

    def matching(self, predicate: Callable[[Row], bool]) -> list[Key]:
        """The keys of the rows in memory (loaded or inserted, not deleted) that satisfy `predicate`."""
        return [k for k, row in self._current.items() if row is not None and predicate(row)]

    async def flush(self, conn: AsyncConnection) -> None:
        """Writes each changed row's last state: deletes, then updates, then inserts."""
        table, keys = self.table, self.key_columns
        deleted = [k for k, row in self._current.items() if row is None and k in self._stored]
        updated = [
            row
            for k, row in self._current.items()
            if row is not None and k in self._stored and row != self._stored[k]
        ]
        inserted = [row for k, row in self._current.items() if row is not None and k not in self._stored]
        if deleted:
            where = [table.c[c] == sa.bindparam(f"key_{c}") for c in keys]
            await conn.execute(
                sa.delete(table).where(*where),
                [{f"key_{c}": value for c, value in zip(keys, k, strict=True)} for k in deleted],
            )
        if updated:
            where = [table.c[c] == sa.bindparam(f"key_{c}") for c in keys]
            others = [c.name for c in table.columns if c.name not in keys]
            statement = sa.update(table).where(*where).values({c: sa.bindparam(f"new_{c}") for c in others})
            await conn.execute(
                statement,
                [
                    {**{f"key_{c}": row[c] for c in keys}, **{f"new_{c}": row[c] for c in others}}
                    for row in updated
                ],
            )
        if inserted:
            await conn.execute(sa.insert(table), inserted)
        self._stored = {k: dict(row) for k, row in self._current.items() if row is not None}
        self._current = {k: (dict(row) if row is not None else None) for k, row in self._current.items()}
