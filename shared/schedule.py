"""Jobs daily at a local time in the programme's zone, or every so often, timed by the clock.

A job runs once when the process starts, to catch up on days it was down, and then every day
when the programme's wall clock reads the set time. The moments come from the process's clock,
so a test drives a job's days with a `ManualClock` instead of waiting for them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from shared.clock import Clock
from shared.worker import Worker

log = structlog.get_logger(__name__)

# A round that failed (the database was down) is tried again this soon, not a day later.
RETRY_AFTER = timedelta(minutes=5)


def time_of_day(text: str) -> time:
    """`HH:MM` (24-hour) as a time; refuses anything else with a clear message."""
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: use HH:MM on the 24-hour clock, for example 00:30")
    return time(int(match[1]), int(match[2]))


def next_daily(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant strictly after `after` at which the wall clock in `zone` reads `at` (UTC)."""
    day = after.astimezone(zone).date()
    for offset in (0, 1, 2):  # two days ahead always holds one; a time in a gap maps past it
        moment = datetime.combine(day + timedelta(days=offset), at, tzinfo=zone).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError("unreachable: a later day always has the time")


class DailyJob(Worker):
    """Runs `work` at start, then every day at `at` in the clock's zone; `work` returns a count.

    A round that fails is tried again after `retry_after` (or at the next set time, if sooner),
    on the same clock, rather than a day later.
    """

    retry_event = "daily_job.failed"

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[int]],
        clock: Clock,
        at: time,
        *,
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        super().__init__()
        self.name = name
        self._work = work
        self._clock = clock
        self._at = at
        self._retry_after = retry_after
        self.rounds = 0  # rounds that finished, for tests and logs

    async def step(self) -> bool:
        """One round; afterwards the job waits for the next set time (`idle`)."""
        count = await self._work()
        self.rounds += 1
        if count:
            log.info("daily_job.done", job=self.name, count=count)
        return False

    async def idle(self) -> None:
        await self._sleep_until(self._clock, next_daily(self._clock.now(), self._at, self._clock.zone))

    async def wait_after_failure(self, delay: float) -> None:
        moment = next_daily(self._clock.now(), self._at, self._clock.zone)
        await self._sleep_until(self._clock, min(moment, self._clock.now() + self._retry_after))

    def log_fields(self) -> dict[str, Any]:
        return {"job": self.name}


class PeriodicJob(DailyJob):
    """Runs `work` at start, then every `period` on the clock; a failed round waits the same."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[int]], clock: Clock, period: timedelta
    ) -> None:
        if period <= timedelta(0):
            raise ValueError(f"the period of {name!r} must be positive, not {period}")
        super().__init__(name, work, clock, time(0, 0), retry_after=period)
        self._period = period

    async def idle(self) -> None:
        await self._sleep_until(self._clock, self._clock.now() + self._period)

    async def wait_after_failure(self, delay: float) -> None:
        await self._sleep_until(self._clock, self._clock.now() + self._period)
