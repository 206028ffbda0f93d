"""The clock port: the system clock and the manual one keep the same contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.clock import Clock, ManualClock, SystemClock
from shared.settings import ProgrammeSettings, programme_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Driven:
    """A clock, and how a test lets time pass on it."""

    clock: Clock
    let_pass: Callable[[timedelta], None]


@pytest.fixture(params=["system", "manual"])
async def driven(request: pytest.FixtureRequest) -> AsyncIterator[Driven]:
    if request.param == "system":
        yield Driven(SystemClock(), lambda _: None)  # time passes by itself
    else:
        manual = ManualClock(datetime(2026, 2, 28, 23, 30, tzinfo=UTC))
        yield Driven(manual, manual.advance)


def test_now_is_an_aware_instant_in_utc(driven: Driven) -> None:
    now = driven.clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_today_is_the_date_in_the_programme_s_zone(driven: Driven) -> None:
    before = driven.clock.now().astimezone(SHANGHAI).date()
    today = driven.clock.today()
    after = driven.clock.now().astimezone(SHANGHAI).date()
    assert today in (before, after)  # a system clock may cross midnight between the reads


def test_the_default_zone_is_shanghai(driven: Driven) -> None:
    assert driven.clock.zone.key == "Asia/Shanghai"


async def test_sleeping_until_a_past_moment_returns_at_once(driven: Driven) -> None:
    await asyncio.wait_for(driven.clock.sleep_until(driven.clock.now() - timedelta(hours=1)), 1)


async def test_sleeping_until_a_moment_returns_once_the_clock_reaches_it(driven: Driven) -> None:
    moment = driven.clock.now() + timedelta(milliseconds=50)
    sleeper = asyncio.create_task(driven.clock.sleep_until(moment))
    await asyncio.sleep(0)
    driven.let_pass(timedelta(milliseconds=50))
    await asyncio.wait_for(sleeper, 2)
    assert driven.clock.now() >= moment


async def test_a_cancelled_sleeper_leaves_nothing_behind(driven: Driven) -> None:
    sleeper = asyncio.create_task(driven.clock.sleep_until(driven.clock.now() + timedelta(hours=1)))
    await asyncio.sleep(0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    driven.let_pass(timedelta(hours=2))  # wakes nobody, and fails nothing


async def test_a_naive_moment_is_refused(driven: Driven) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        await driven.clock.sleep_until(datetime(2026, 3, 1, 0, 30))


# --- what only a manual clock can show: any moment, on demand ---------------------------------


def test_at_07_30_in_gansu_today_is_already_the_next_day() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 7, 30, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert clock.today() == date(2026, 3, 1)


def test_set_today_moves_to_noon_of_that_day_in_the_programme_s_zone() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_today(date(2026, 3, 1))
    assert clock.now() == datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


async def test_next_wake_tells_when_the_earliest_sleeper_wakes() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    late = asyncio.create_task(clock.sleep_until(datetime(2026, 3, 3, tzinfo=UTC)))
    early = asyncio.create_task(clock.sleep_until(datetime(2026, 3, 2, tzinfo=UTC)))
    assert await asyncio.wait_for(clock.next_wake(), 1) == datetime(2026, 3, 2, tzinfo=UTC)
    clock.set(datetime(2026, 3, 2, tzinfo=UTC))
    await asyncio.wait_for(early, 1)
    assert not late.done()
    assert await asyncio.wait_for(clock.next_wake(), 1) == datetime(2026, 3, 3, tzinfo=UTC)
    late.cancel()


def test_another_zone_can_be_chosen() -> None:
    clock = ManualClock(datetime(2026, 2, 28, 22, 30, tzinfo=UTC), "Europe/Berlin")
    assert clock.today() == date(2026, 2, 28)
    clock.advance(timedelta(hours=1))  # 00:30 in Berlin, still 23:30 in UTC
    assert clock.today() == date(2026, 3, 1)


# --- the setting -------------------------------------------------------------------------------


def test_the_programme_s_zone_is_shanghai_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREPAIR_TIMEZONE", raising=False)
    assert ProgrammeSettings().clock().zone.key == "Asia/Shanghai"
    monkeypatch.setenv("CAREPAIR_TIMEZONE", "Asia/Urumqi")
    assert ProgrammeSettings().clock().zone.key == "Asia/Urumqi"


@pytest.mark.parametrize("name", ["Asia/Lanzhou", "CST", "", "../etc/passwd"])
def test_a_zone_the_database_does_not_know_is_refused_clearly(name: str) -> None:
    with pytest.raises(ValidationError, match="CAREPAIR_TIMEZONE=.* is not a time zone: use an IANA name"):
        ProgrammeSettings(timezone=name)


def test_a_tool_is_told_plainly_that_its_zone_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPAIR_TIMEZONE", "Asia/Lanzhou")
    with pytest.raises(ValueError) as caught:
        programme_clock()
    assert str(caught.value) == (
        "CAREPAIR_TIMEZONE='Asia/Lanzhou' is not a time zone: use an IANA name such as Asia/Shanghai"
    )
