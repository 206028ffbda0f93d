"""A service's spec is all the runtime needs: its dependencies, routes, reactors and schedules run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends

from services.notify.settings import NotifySettings
from shared.clock import ManualClock
from shared.runtime import (
    ReactorSpec,
    Schedule,
    ServiceBasics,
    ServiceSpec,
    Started,
    create_app,
    deps_of,
)
from tests.support.service_app import running_app, settings_values

pytestmark = pytest.mark.nats

START = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in the programme's zone


@dataclass
class Outbox:
    """A service's own dependencies: the basics, and an outbound client, real or fake."""

    basics: ServiceBasics
    sender: str
    rounds: list[str] = field(default_factory=list)


def real_outbox(runtime: Started) -> Outbox:
    return Outbox(ServiceBasics.of(runtime), sender="sms-gateway")


def fake_outbox(runtime: Started) -> Outbox:
    return Outbox(ServiceBasics.of(runtime), sender="in-memory")


def counting(name: str) -> Callable[[Outbox], Awaitable[int]]:
    async def work(outbox: Outbox) -> int:
        outbox.rounds.append(name)
        return 1

    return work


router = APIRouter()


@router.get("/outbox")
async def outbox_state(outbox: Annotated[Outbox, Depends(deps_of(Outbox))]) -> dict[str, Any]:
    today = outbox.basics.today().isoformat()
    return {"sender": outbox.sender, "rounds": sorted(outbox.rounds), "today": today}


SPEC = ServiceSpec[Outbox](
    name="notify",
    settings=NotifySettings,
    dependencies=real_outbox,
    fakes=fake_outbox,
    routers=(router,),
    reactors=(ReactorSpec("notify-echo", "echo", lambda _outbox: {}),),
    schedules=(
        Schedule.every("hourly", counting("hourly"), timedelta(hours=1)),
        Schedule.daily("nightly", counting("nightly"), at=time(0, 30)),
    ),
)


async def eventually_ready(client: httpx.AsyncClient) -> dict[str, Any]:
    for _ in range(300):
        answer = await client.get("/readyz")
        if answer.status_code == 200:
            return dict(answer.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"never ready: {answer.json()}")


async def rounds(client: httpx.AsyncClient, count: int) -> list[str]:
    for _ in range(200):
        found: list[str] = (await client.get("/outbox")).json()["rounds"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {found} ran")


@pytest.mark.parametrize(("fakes", "sender"), [(False, "sms-gateway"), (True, "in-memory")])
async def test_the_runtime_builds_the_dependencies_and_runs_the_reactors_and_schedules_of_the_spec(
    tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None, fakes: bool, sender: str
) -> None:
    settings = NotifySettings(**settings_values(tmp_path, nats_url, stream_name))
    clock = ManualClock(START)
    app = create_app(SPEC, settings, clock, fakes=fakes)
    assert app.title == "carepair notify"  # the spec names no title: the service's name gives one
    async with running_app(app) as client:
        checks = await eventually_ready(client)
        assert {"echo", "hourly", "nightly"} <= checks.keys()
        # Both schedules run once at start; the route sees the very object they were given.
        assert await rounds(client, 2) == ["hourly", "nightly"]
        state = (await client.get("/outbox")).json()
        assert state["sender"] == sender and state["today"] == "2026-03-01"
        # An hour on the clock is the next hourly round; 00:30 local is still hours away.
        clock.advance(timedelta(hours=1))
        assert await rounds(client, 3) == ["hourly", "hourly", "nightly"]


def test_a_schedule_is_daily_or_periodic_not_both() -> None:
    with pytest.raises(ValueError, match="either a time of day or a period"):
        Schedule("both", counting("both"), at=lambda _s: time(0, 30), period=timedelta(hours=1))
    with pytest.raises(ValueError, match="either a time of day or a period"):
        Schedule("neither", counting("neither"))
