"""Consumer checkpoints: the last position applied from each producer, kept with the effects."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.database import dialect_insert
from shared.eventstore.schema import consumer_checkpoints as table


async def ensure_rows(engine: AsyncEngine, consumer: str, producers: list[str]) -> None:
    """Creates a zero checkpoint for every producer the consumer has never heard from."""
    async with engine.begin() as conn:
        known = set(
            (await conn.execute(sa.select(table.c.producer).where(table.c.consumer == consumer))).scalars()
        )
        missing = [p for p in producers if p not in known]
        if missing:
            # Two processes of one service may start at once: the second insert does nothing.
            insert = dialect_insert(conn.dialect.name)
            await conn.execute(
                insert(table).on_conflict_do_nothing(),
                [{"consumer": consumer, "producer": p, "position": 0} for p in missing],
            )


async def lock_and_read(conn: AsyncConnection, consumer: str, producer: str) -> int:
    """Locks the checkpoint row for this transaction and returns its position.

    Locking with a write first makes two instances of one consumer take turns (and, on SQLite,
    takes the write lock before anything is read).
    """
    row = await conn.execute(
        sa.update(table)
        .where(table.c.consumer == consumer, table.c.producer == producer)
        .values(position=table.c.position)
        .returning(table.c.position)
    )
    position = row.scalar_one_or_none()
    if position is None:
        raise LookupError(f"no checkpoint row for {consumer}/{producer}: call ensure_rows first")
    return int(position)


async def advance(conn: AsyncConnection, consumer: str, producer: str, position: int) -> None:
    await conn.execute(
        sa.update(table)
        .where(table.c.consumer == consumer, table.c.producer == producer)
        .values(position=position)
    )


async def read_all(engine: AsyncEngine, consumer: str) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(table.c.producer, table.c.position).where(table.c.consumer == consumer)
        )
        return {producer: int(position) for producer, position in rows}
