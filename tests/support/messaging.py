"""Builds relays, consumers and producer feeds over real NATS and a real database, for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore import Envelope
from shared.eventstore.opener import EventOpener
from shared.messaging.feed import FeedClient, feed_router
from shared.messaging.projection import Projection, ProjectionRunner
from shared.web.errors import install_error_handlers
from tests.support.contracts import TEST_CONTRACTS

FEED_TOKEN = "feed-token-0123456789abcdef"

seen = sa.table("seen", sa.column("position", sa.BigInteger), sa.column("n", sa.Integer))


def feed_app(store: Any) -> FastAPI:
    app = FastAPI()
    app.state.peers = {FEED_TOKEN: "tester"}
    app.state.grants = {"tester": frozenset({"testsvc.feed"})}
    install_error_handlers(app)
    app.include_router(feed_router(store.read_after, "testsvc.feed"))
    return app


def feed_client(store: Any, token: str = FEED_TOKEN) -> FeedClient:
    return FeedClient("http://producer", token, transport=httpx.ASGITransport(app=feed_app(store)))


async def record_thing(conn: AsyncConnection, envelope: Envelope) -> None:
    await conn.execute(sa.insert(seen).values(position=envelope.position, n=envelope.payload.n))


@asynccontextmanager
async def recording_runner(store: Any, name: str = "recorder") -> AsyncIterator[ProjectionRunner]:
    """A projection that writes (position, n) of every ThingHappened into table `seen`."""
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS seen (position BIGINT PRIMARY KEY, n INT)"))
    projection = Projection(name, ("testsvc",), {"ThingHappened": record_thing})
    runner = ProjectionRunner(store.engine, projection, EventOpener(TEST_CONTRACTS, store.sealer))
    await runner.start()
    yield runner


async def seen_positions(store: Any) -> list[int]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT position FROM seen ORDER BY position"))
        return [r[0] for r in rows]


def wire(event: Any) -> bytes:
    return json.dumps(event.to_wire()).encode()
