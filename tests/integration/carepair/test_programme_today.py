""" "Today" is the programme's date (Asia/Shanghai), not the server's UTC date.

At 07:30 on 1 March in Gansu the server's UTC date is still 28 February. A cadre who logs a
visit then logs it for 1 March; a pairing made or ended that morning without a date is made or
ended on 1 March; a compliance query on New Year's morning asks about the new year.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.pairing import handlers
from services.pairing.domain.commands import EndPairing, PairSubject
from services.reporting.bootstrap import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from services.visits.bootstrap import create_app as visits_app
from services.visits.settings import VisitsSettings
from shared.clock import ManualClock
from shared.contracts.pairing import EndReason
from shared.eventstore import Metadata
from tests.support.pairing_people import orphan, unit_leader
from tests.support.pairing_world import World
from tests.support.service_app import running_app, settings_values

SHANGHAI = ZoneInfo("Asia/Shanghai")
GANSU_MORNING = datetime(2026, 3, 1, 7, 30, tzinfo=SHANGHAI)
META = Metadata(actor="operator:test")


def test_gansu_morning_is_still_the_day_before_in_utc() -> None:
    assert GANSU_MORNING.astimezone(UTC) == datetime(2026, 2, 28, 23, 30, tzinfo=UTC)


@pytest.fixture
async def visits(
    tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = VisitsSettings(**settings_values(tmp_path, nats_url, stream_name))
    async with running_app(visits_app(settings, ManualClock(GANSU_MORNING))) as client:
        yield client


def visit(happened_on: date) -> dict[str, str]:
    return {
        "pairing_id": str(uuid.uuid4()),
        "subject_id": "s-1",
        "cadre_id": "c-1",
        "mode": "home",
        "happened_on": happened_on.isoformat(),
        "record": "入户走访，了解生活情况。",
    }


@pytest.mark.nats
async def test_a_visit_dated_the_programme_s_today_is_accepted_and_tomorrow_s_refused(
    visits: httpx.AsyncClient,
) -> None:
    today = await visits.post("/visits", json=visit(date(2026, 3, 1)))
    assert today.status_code == 201, today.text
    tomorrow = await visits.post("/visits", json=visit(date(2026, 3, 2)))
    assert tomorrow.status_code == 422
    error = tomorrow.json()["error"]
    assert error["code"] == "visit_in_future"
    assert "晚于今天 2026-03-01" in error["message"]


@pytest.mark.nats
async def test_compliance_asked_on_new_year_s_morning_is_about_the_new_year(
    tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> None:
    settings = ReportingSettings(**settings_values(tmp_path, nats_url, stream_name))
    new_year = ManualClock(datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))  # 2026-12-31 16:30 UTC
    async with running_app(reporting_app(settings, new_year)) as client:
        answer = await client.get(f"/compliance/pairings/{uuid.uuid4()}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["year"] == 2027


def test_a_pairing_made_and_ended_without_a_date_on_gansu_morning_is_dated_that_morning() -> None:
    world = World()
    try:
        world.clock.set(GANSU_MORNING)
        world.run(handlers.register_subject(world.deps, orphan("s-1"), META))
        world.run(handlers.register_cadre(world.deps, unit_leader("c-1"), META))
        world.settle()
        world.run(handlers.pair(world.deps, PairSubject(subject_id="s-1", cadre_id="c-1"), META))
        ending = EndPairing(subject_id="s-1", reason=EndReason.operator)
        world.run(handlers.end_pairing(world.deps, ending, META))
        [record] = world.run(world.deps.repo.subject("s-1")).pairings
        assert (record.started_on, record.ended_on) == (date(2026, 3, 1), date(2026, 3, 1))
    finally:
        world.close()
