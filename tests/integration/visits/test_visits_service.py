"""The visits service through its real app: a cadre logs a work record, on SQLite and PostgreSQL.

This is the reference of `docs/adding-a-service.md`: a new service's first integration test
starts its app from its spec, sends a command through a route, and reads the event back from
the service's own store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.visits.bootstrap import create_app
from services.visits.settings import VisitsSettings
from shared.clock import ManualClock
from shared.contracts.visits import VisitLogged
from shared.runtime import ServiceRuntime
from shared.web.consistency import POSITION_HEADER
from tests.support.service_app import running_app, settings_values

TODAY = date(2026, 5, 17)  # the programme's date in these tests: a Sunday in Asia/Shanghai


@dataclass(frozen=True)
class Visits:
    """The started service: a client of its routes, and its runtime (to read its own store)."""

    client: httpx.AsyncClient
    runtime: ServiceRuntime[Any]

    async def stored(self, visit_id: str) -> list[Any]:
        """The events of the visit's stream, opened."""
        events = await self.runtime.store.read_stream(f"visit-{visit_id}")
        return [envelope.payload for envelope in await self.runtime.opener.open_many(events)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def visits(
    request: pytest.FixtureRequest, tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[Visits]:
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url").render_as_string(hide_password=False)
    settings = VisitsSettings(**settings_values(tmp_path, nats_url, stream_name, database_url))
    app = create_app(settings, ManualClock.on(TODAY))
    async with running_app(app) as client:
        yield Visits(client, app.state.runtime)


def record(**changes: Any) -> dict[str, Any]:
    body = {
        "visit_id": str(uuid.uuid4()),
        "pairing_id": str(uuid.uuid4()),
        "subject_id": "s-ma-xiaojun",
        "cadre_id": "c-li-ming",
        "mode": "home",
        "happened_on": "2026-05-16",
        "record": "  入户走访，了解孩子上学情况  ",
    }
    return {**body, **changes}


async def test_a_logged_visit_is_one_event_in_its_own_stream_with_the_position_to_read_after(
    visits: Visits,
) -> None:
    body = record()
    answer = await visits.client.post("/visits", json=body)
    assert answer.status_code == 201, answer.text
    token = answer.json()["position"]
    assert answer.headers[POSITION_HEADER] == token and token.startswith("visits:")
    [event] = await visits.stored(body["visit_id"])
    assert isinstance(event, VisitLogged)
    assert (event.mode.value, event.happened_on, event.record) == (
        "home",
        date(2026, 5, 16),
        "入户走访，了解孩子上学情况",
    )


async def test_the_same_visit_sent_twice_is_refused_the_second_time_and_stored_once(
    visits: Visits,
) -> None:
    body = record()
    first, second = [await visits.client.post("/visits", json=body) for _ in range(2)]
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["error"]["code"] == "visit_already_logged"
    assert len(await visits.stored(body["visit_id"])) == 1


async def test_a_visit_dated_after_the_programme_s_today_is_refused_in_chinese(
    visits: Visits,
) -> None:
    body = record(happened_on="2026-05-18")
    answer = await visits.client.post("/visits", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "visit_in_future"
    assert "晚于今天" in answer.json()["error"]["message"]
    assert await visits.stored(body["visit_id"]) == []


async def test_a_field_the_command_does_not_declare_is_refused_with_its_name(
    visits: Visits,
) -> None:
    answer = await visits.client.post("/visits", json=record(phone="13800138000"))
    assert answer.status_code == 422
    assert "phone" in answer.text
