"""Daily jobs at a set local time in the programme's zone, with the schedule read from the clock.

A job runs once when the process starts, to catch up on days it was down, and then every day
when the programme's wall clock reads the set time. The moments come from the process's clock,
so a test drives a job's days with a `ManualClock` instead of waiting for them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
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
    """Runs `work` at start, then every day at `at` in the clock's zone; `work` returns a count."""

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
        self.healthy = False
        self.rounds = 0  # rounds that finished, for tests and logs

    async def run(self) -> None:
        while not self._stopping.is_set():
            done = await self._round()
            moment = next_daily(self._clock.now(), self._at, self._clock.zone)
            if not done:
                moment = min(moment, self._clock.now() + self._retry_after)
            await self._sleep_until(self._clock, moment)

    async def _round(self) -> bool:
        try:
            count = await self._work()
        except Exception as exc:  # noqa: BLE001 - the database is down: try again soon
            self.healthy = False
            log.warning("daily_job.failed", job=self.name, error=repr(exc))
            return False
        self.healthy = True
        self.rounds += 1
        if count:
            log.info("daily_job.done", job=self.name, count=count)
        return True
