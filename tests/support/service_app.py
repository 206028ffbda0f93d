"""Runs one service's real app in-process (lifespan included) on real databases and NATS."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

# Every service process of a test presents TOKEN, and is known to the others as reporting, the
# one caller that reads a feed; the tests call each service as the caller that owns its routes.
TOKEN = "svc-token-9f8e7d6c5b4a3f2e1d0c"
OPERATOR_TOKEN = "operator-token-3c4d5e6f7a8b9c0d"
GATEWAY_TOKEN = "gateway-token-7a8b9c0d1e2f3a4b"
CALLER_TOKENS = {"operator": OPERATOR_TOKEN, "gateway": GATEWAY_TOKEN}
MASTER_KEY = base64.b64encode(os.urandom(32)).decode()


def settings_values(
    data_dir: Path, nats_url: str, stream: str, database_url: str | None = None
) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "database_url": database_url,
        "nats_url": nats_url,
        "stream_name": stream,
        "subject_prefix": stream.lower(),
        "master_key": MASTER_KEY,
        "service_token": TOKEN,
        "peer_tokens": f"reporting:{TOKEN},gateway:{GATEWAY_TOKEN},operator:{OPERATOR_TOKEN}",
        "relay_poll_seconds": 0.2,
        # The suite's NATS (embedded, or CAREPAIR_TEST_NATS_URL) runs without users;
        # tests/integration/test_nats_auth.py runs one with them.
        "development": True,
    }


def auth_headers(service: str) -> dict[str, str]:
    """How a test calls `service`: as an operator (pairing) or as the gateway (the others)."""
    token = OPERATOR_TOKEN if service == "pairing" else GATEWAY_TOKEN
    return {"Authorization": f"Bearer {token}", "Carepair-Actor": "operator:test"}


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (its runtime too) and a client that calls it as its real callers would."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = auth_headers(app.state.runtime.name)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as client:
            yield client
