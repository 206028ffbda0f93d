"""Runs one service's real app in-process (lifespan included) on real databases and NATS."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from carepair.launcher.nats_server import free_port
from shared.roster import SERVICE_NAMES

# Every service process of a test presents TOKEN, and is known to the others as reporting, the
# one caller that reads a feed; the tests call each service as the caller that owns its routes.
TOKEN = "svc-token-9f8e7d6c5b4a3f2e1d0c"
OPERATOR_TOKEN = "operator-token-3c4d5e6f7a8b9c0d"
GATEWAY_TOKEN = "gateway-token-7a8b9c0d1e2f3a4b"
SIGNING_KEY = "signing-key-5d6e7f8a9b0c1d2e3f4a"  # every producer's in a test, so every consumer holds it
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
        "signing_key": SIGNING_KEY,
        "producer_signing_keys": ",".join(f"{p}:{SIGNING_KEY}" for p in SERVICE_NAMES),
        # The suite's NATS (embedded, or CAREPAIR_TEST_NATS_URL) runs without users;
        # tests/integration/carepair/test_nats_auth.py runs one with them.
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


@contextmanager
def started_server(app: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Runs the app under uvicorn in a thread of its own; yields its base URL and the server."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)  # its loop: uvloop when installed
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Runs the app under uvicorn in a thread of its own; yields its base URL."""
    with started_server(app) as (url, _):
        yield url
