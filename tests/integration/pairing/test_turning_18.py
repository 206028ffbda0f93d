"""An orphan who turns 18 is noticed by the calendar, and their pairing goes to review."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.pairing import handlers
from services.pairing.domain.commands import PairSubject, RegisterSubject
from services.pairing.entrypoints.schedules import ADULT_WATCH, mark_adults
from services.pairing.handlers import eighteenth_birthday
from services.pairing.settings import PairingSettings
from shared.contracts.pairing import Situation
from shared.contracts.people import (
    CareSetting,
    Gender,
    OrphanType,
)
from shared.eventstore import Metadata
from tests.support.identity import resident_id
from tests.support.pairing_people import VILLAGE, orphan, unit_leader
from tests.support.pairing_world import World

META = Metadata(actor="operator:test")

# The settings the job reads its time from: 00:30, the default of CAREPAIR_PAIRING_DAILY_AT.
AT_HALF_PAST_MIDNIGHT = PairingSettings.model_construct(pairing_daily_at="00:30")


def test_the_watcher_records_turned_18_once_on_the_birthday_and_opens_a_review() -> None:
    world = World()
    try:
        world.clock.set_today(date(2026, 3, 1))
        orphan = RegisterSubject(
            subject_id="s-1",
            household_id="h-1",
            name="马小军",
            gender=Gender.male,
            birth_date=date(2008, 3, 10),
            id_number=resident_id(VILLAGE.county_code, date(2008, 3, 10), False, 7),
            residence=VILLAGE,
            category="orphan",
            orphan_type=OrphanType.orphan,
            care_setting=CareSetting.scattered,
        )
        world.run(handlers.register_subject(world.deps, orphan, META))
        cadre = unit_leader("c-1")
        world.run(handlers.register_cadre(world.deps, cadre, META))
        world.settle()
        world.run(handlers.pair(world.deps, PairSubject(subject_id="s-1", cadre_id="c-1"), META))
        world.settle()

        world.clock.set_today(date(2026, 3, 9))
        assert world.run(mark_adults(world.deps)) == 0
        world.clock.set_today(date(2026, 3, 10))
        assert world.run(mark_adults(world.deps)) == 1
        assert world.run(mark_adults(world.deps)) == 0  # idempotent
        state = world.run(world.deps.repo.subject("s-1"))
        assert Situation.turned_18 in state.situation
        assert [r.cause for r in state.open_reviews] == ["turned_18"]
        assert state.current is not None  # reviewed, not ended silently
    finally:
        world.close()


def test_a_leap_day_birthday_turns_18_on_the_first_of_march() -> None:
    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert eighteenth_birthday(date(2008, 3, 10)) == date(2026, 3, 10)
    assert eighteenth_birthday(date(2008, 3, 10)) - timedelta(days=1) == date(2026, 3, 9)


def test_the_watcher_runs_at_start_and_then_at_half_past_midnight_in_gansu() -> None:
    """The clock drives the days: the birthday is noticed at 00:30 local, 16:30 UTC the day before."""
    world = World()
    watcher = ADULT_WATCH.job(world.deps, world.clock, AT_HALF_PAST_MIDNIGHT)
    try:
        world.clock.set(datetime(2026, 3, 9, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        world.run(handlers.register_subject(world.deps, orphan("s-1", date(2008, 3, 10)), META))
        world.settle()
        running = world.loop.create_task(watcher.run())
        wake = world.run(asyncio.wait_for(world.clock.next_wake(), 5))
        assert watcher.rounds == 1  # the round at start: still 17
        assert wake == datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # 00:30 on 10 March in Gansu
        world.clock.set(wake - timedelta(seconds=1))
        assert world.run(asyncio.wait_for(world.clock.next_wake(), 5)) == wake
        assert Situation.turned_18 not in world.run(world.deps.repo.subject("s-1")).situation
        world.clock.set(wake)
        tomorrow = world.run(asyncio.wait_for(world.clock.next_wake(), 5))
        assert tomorrow == datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
        assert watcher.rounds == 2
        assert Situation.turned_18 in world.run(world.deps.repo.subject("s-1")).situation
        watcher.stop()
        world.run(asyncio.wait_for(running, 5))
    finally:
        world.close()
