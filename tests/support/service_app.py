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

TOKEN = "svc-token-9f8e7d6c5b4a3f2e1d0c"
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
        "peer_tokens": f"gateway:{TOKEN}",
        "relay_poll_seconds": 0.2,
    }


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (its runtime too) and a client that calls it as the gateway would."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}", "Carepair-Actor": "operator:test"}
        async with httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as client:
            yield client
