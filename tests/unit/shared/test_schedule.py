"""Daily jobs: at start, then every day at a set local time, driven by the clock alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.schedule import DailyJob, next_daily, time_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
HALF_PAST_MIDNIGHT = time(0, 30)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # 23:30 UTC is 07:30 in Shanghai: the next 00:30 there is the following evening in UTC.
        (utc(2026, 2, 28, 23, 30), utc(2026, 3, 1, 16, 30)),
        # 16:00 UTC on 28 February is midnight in Shanghai: 00:30 is half an hour away, and the
        # UTC date is still the 28th.
        (utc(2026, 2, 28, 16, 0), utc(2026, 2, 28, 16, 30)),
        # Exactly at the time: the next one is a day later, never the same instant again.
        (utc(2026, 2, 28, 16, 30), utc(2026, 3, 1, 16, 30)),
    ],
)
def test_the_next_run_is_the_next_half_past_midnight_in_shanghai(after: datetime, expected: datetime) -> None:
    assert next_daily(after, HALF_PAST_MIDNIGHT, SHANGHAI) == expected


def test_a_zone_with_summer_time_keeps_the_local_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # The night of 29 March 2026 loses an hour in Berlin: 00:30 is still 00:30 local.
    first = next_daily(utc(2026, 3, 28, 12), HALF_PAST_MIDNIGHT, berlin)
    second = next_daily(first, HALF_PAST_MIDNIGHT, berlin)
    assert first.astimezone(berlin).time() == second.astimezone(berlin).time() == HALF_PAST_MIDNIGHT
    assert second - first == timedelta(hours=23)


def test_a_time_in_the_gap_of_a_summer_time_night_still_runs_that_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    moment = next_daily(utc(2026, 3, 28, 12), time(2, 30), berlin)  # 02:30 never happens that night
    assert moment.astimezone(berlin).date().isoformat() == "2026-03-29"


@pytest.mark.parametrize(("text", "expected"), [("00:30", time(0, 30)), (" 23:59 ", time(23, 59))])
def test_a_time_of_day_is_hh_mm(text: str, expected: time) -> None:
    assert time_of_day(text) == expected


@pytest.mark.parametrize("text", ["24:00", "7:5", "0030", "half past midnight", "00:30:00", ""])
def test_anything_else_is_refused_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time of day: use HH:MM"):
        time_of_day(text)


class Counting:
    """A job's work that counts its rounds and can be told to fail."""

    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self.failing = False

    def work(self, clock: ManualClock) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            if self.failing:
                raise ConnectionError("database down")
            self.runs.append(clock.now())
            return 1

        return run


async def test_a_daily_job_runs_at_start_then_at_half_past_midnight_local_across_the_utc_date() -> None:
    clock = ManualClock(datetime(2026, 2, 28, 23, 0, tzinfo=SHANGHAI))  # 15:00 UTC
    work = Counting()
    job = DailyJob("test", work.work(clock), clock, HALF_PAST_MIDNIGHT)
    task = asyncio.create_task(job.run())
    try:
        wake = await asyncio.wait_for(clock.next_wake(), 1)
        assert work.runs == [utc(2026, 2, 28, 15, 0)]  # once at start, to catch up
        assert wake == utc(2026, 2, 28, 16, 30)  # 00:30 on 1 March in Shanghai, still 28 Feb in UTC
        clock.set(wake - timedelta(minutes=1))
        assert await asyncio.wait_for(clock.next_wake(), 1) == wake
        assert len(work.runs) == 1
        clock.set(wake)
        assert await asyncio.wait_for(clock.next_wake(), 1) == utc(2026, 3, 1, 16, 30)
        assert work.runs[-1] == wake and job.rounds == 2 and job.healthy
    finally:
        job.stop()
        await asyncio.wait_for(task, 1)


async def test_a_failed_round_is_tried_again_soon_not_a_day_later() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI))
    work = Counting()
    work.failing = True
    job = DailyJob("test", work.work(clock), clock, HALF_PAST_MIDNIGHT, retry_after=timedelta(minutes=5))
    task = asyncio.create_task(job.run())
    try:
        retry = await asyncio.wait_for(clock.next_wake(), 1)
        assert retry == clock.now() + timedelta(minutes=5) and not job.healthy
        work.failing = False
        clock.set(retry)
        assert await asyncio.wait_for(clock.next_wake(), 1) == utc(2026, 3, 1, 16, 30)
        assert job.healthy and work.runs == [retry]
    finally:
        job.stop()
        await asyncio.wait_for(task, 1)


async def test_a_stop_ends_the_wait_for_tomorrow_at_once() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI))
    job = DailyJob("test", Counting().work(clock), clock, HALF_PAST_MIDNIGHT)
    task = asyncio.create_task(job.run())
    await asyncio.wait_for(clock.next_wake(), 1)
    job.stop()
    await asyncio.wait_for(task, 1)
