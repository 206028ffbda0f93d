"""The programme's clock: the current instant, and today's business date in the programme's zone.

Every "today" in carepair is the date in the programme's time zone (`CAREPAIR_TIMEZONE`,
Asia/Shanghai by default), never the server's: a cadre in Gansu who logs a visit at 07:30 on
1 March logs it on 1 March, though the server's UTC date is still 28 February. Each process
builds one clock and hands it to whatever needs the time; tests hand in a `ManualClock`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
# A system clock naps at most this long, so a wall clock that was set meanwhile is noticed.
LONGEST_NAP = 60.0


class Clock(Protocol):
    """Tells the time: instants in UTC, business dates in the programme's zone."""

    @property
    def zone(self) -> ZoneInfo: ...

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    def today(self) -> date:
        """The programme's business date: the date in its zone at `now()`."""
        ...

    async def sleep_until(self, moment: datetime) -> None:
        """Returns once `now()` has reached `moment` (at once when it already has)."""
        ...


def programme_zone(name: str) -> ZoneInfo:
    """The zone called `name`; refuses a name the time-zone database does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"CAREPAIR_TIMEZONE={name!r} is not a time zone: use an IANA name such as {DEFAULT_TIMEZONE}"
        ) from None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: give an aware datetime")
    return moment.astimezone(UTC)


class SystemClock:
    """The machine's clock, read in the programme's zone."""

    def __init__(self, zone: ZoneInfo | str = DEFAULT_TIMEZONE) -> None:
        self._zone = zone if isinstance(zone, ZoneInfo) else programme_zone(zone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self._zone).date()

    async def sleep_until(self, moment: datetime) -> None:
        moment = _aware(moment)
        # asyncio sleeps on the monotonic clock; napping in slices follows a wall clock that moves.
        while (remaining := (moment - self.now()).total_seconds()) > 0:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(min(remaining, LONGEST_NAP))


class ManualClock:
    """A clock that stands still until it is moved: for tests, and for replaying a day.

    Sleepers wake when the clock is moved to or past their moment. `next_wake()` waits until
    someone sleeps, so a test can let a worker finish its round before moving the clock again.
    """

    def __init__(self, start: datetime, zone: ZoneInfo | str = DEFAULT_TIMEZONE) -> None:
        self._zone = zone if isinstance(zone, ZoneInfo) else programme_zone(zone)
        self._now = _aware(start)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._sleeping = asyncio.Event()

    @classmethod
    def on(cls, day: date, at: time = time(12), zone: ZoneInfo | str = DEFAULT_TIMEZONE) -> ManualClock:
        """A clock standing at `at` (noon unless given) on `day` in `zone`."""
        zone = zone if isinstance(zone, ZoneInfo) else programme_zone(zone)
        return cls(datetime.combine(day, at, tzinfo=zone), zone)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.astimezone(self._zone).date()

    async def sleep_until(self, moment: datetime) -> None:
        moment = _aware(moment)
        if moment <= self._now:
            return
        waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (moment, waker)
        self._sleepers.append(entry)
        self._sleeping.set()
        try:
            await waker
        finally:
            if entry in self._sleepers:  # cancelled before its moment came
                self._sleepers.remove(entry)

    def set(self, moment: datetime) -> None:
        """Moves the clock to `moment` (either way) and wakes everyone whose moment has come."""
        self._now = _aware(moment)
        due = [entry for entry in self._sleepers if entry[0] <= self._now]
        self._sleepers = [entry for entry in self._sleepers if entry[0] > self._now]
        if not self._sleepers:
            self._sleeping.clear()
        for _, waker in due:
            if not waker.done():
                waker.set_result(None)

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    def set_today(self, day: date, at: time = time(12)) -> None:
        """Moves the clock to `at` (noon unless given) on `day` in the programme's zone."""
        self.set(datetime.combine(day, at, tzinfo=self._zone))

    async def next_wake(self) -> datetime:
        """Waits until someone sleeps on this clock; returns the earliest moment they wait for."""
        while not self._sleepers:
            self._sleeping.clear()
            await self._sleeping.wait()
        return min(moment for moment, _ in self._sleepers)
