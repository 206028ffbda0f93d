"""The pairing service's real app, on SQLite and on PostgreSQL, for the HTTP tests of this folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.pairing.bootstrap import create_app
from services.pairing.settings import PairingSettings
from shared.clock import ManualClock
from tests.support.pairing_world import TODAY
from tests.support.service_app import running_app, settings_values


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def client(
    request: pytest.FixtureRequest, tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the started app (its runtime too), whose clock stands still on TODAY."""
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url").render_as_string(hide_password=False)
    settings = PairingSettings(**settings_values(tmp_path, nats_url, stream_name, database_url))
    async with running_app(create_app(settings, ManualClock.on(TODAY))) as c:
        yield c
