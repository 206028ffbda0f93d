"""A retirement, transfer or ending dated ahead takes effect on its date, not at once.

Until then the cadre stays responsible, the contact card says paired (and shows what is coming)
and nobody waits on the queue; on the day, the daily round appends the real event at 00:30 in
Gansu, and the reactor and the registries take it from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.pairing import handlers, views
from services.pairing.domain.commands import (
    ChangeSituation,
    EndPairing,
    PairSubject,
    RetireCadre,
    TransferCadre,
)
from services.pairing.domain.refusals import Refused
from services.pairing.entrypoints.schedules import SCHEDULED_CHANGES, apply_due_changes
from services.pairing.settings import PairingSettings
from shared.contracts.pairing import EndReason, Situation
from shared.contracts.people import Links
from shared.eventstore import Metadata
from tests.support.pairing_people import VILLAGE, orphan, unit_leader
from tests.support.pairing_world import TODAY, World

META = Metadata(actor="operator:test")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YEAR_S_EVE = date(2026, 12, 31)

# The settings the job reads its time from: 00:30, the default of CAREPAIR_PAIRING_DAILY_AT.
AT_HALF_PAST_MIDNIGHT = PairingSettings.model_construct(pairing_daily_at="00:30")


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    world.run(handlers.register_subject(world.deps, orphan("s-1"), META))
    world.run(handlers.register_cadre(world.deps, unit_leader("c-1"), META))
    world.settle()
    world.run(
        handlers.pair(
            world.deps, PairSubject(subject_id="s-1", cadre_id="c-1", effective_on=date(2026, 3, 1)), META
        )
    )
    world.settle()
    yield world
    world.close()


def card(world: World) -> dict[str, Any]:
    found: dict[str, Any] | None = world.run(views.contact_card(world.deps, "s-1"))
    assert found is not None
    return found


def queue(world: World) -> list[dict[str, Any]]:
    waiting: list[dict[str, Any]] = world.run(views.reassignment_queue(world.deps, world.clock.today()))
    return waiting


def test_a_retirement_dated_ahead_takes_effect_at_half_past_midnight_on_its_date(world: World) -> None:
    world.run(
        handlers.retire_cadre(
            world.deps, RetireCadre(cadre_id="c-1", effective_on=NEW_YEAR_S_EVE, continues=False), META
        )
    )
    world.settle()
    now = card(world)
    assert now["status"] == "paired" and now["cadre"]["cadre_id"] == "c-1"
    assert now["scheduled"] == [
        {"change": "retirement", "effective_on": "2026-12-31", "message": "结对干部将于2026-12-31退休"}
    ]
    assert queue(world) == []
    assert world.run(world.deps.repo.cadre("c-1")).can_take_pairings  # retires on the 31st, not now

    job = SCHEDULED_CHANGES.job(world.deps, world.clock, AT_HALF_PAST_MIDNIGHT)
    running = world.loop.create_task(job.run())
    try:
        world.run(asyncio.wait_for(world.clock.next_wake(), 5))
        world.clock.set(datetime(2026, 12, 30, 0, 30, tzinfo=SHANGHAI))  # the round of the 30th
        wake = world.run(asyncio.wait_for(world.clock.next_wake(), 5))
        world.settle()
        assert job.rounds == 2 and card(world)["status"] == "paired"
        assert wake == datetime(2026, 12, 30, 16, 30, tzinfo=UTC)  # 00:30 on the 31st in Gansu
        world.clock.set(wake - timedelta(seconds=1))
        assert world.run(asyncio.wait_for(world.clock.next_wake(), 5)) == wake
        world.clock.set(wake)
        world.run(asyncio.wait_for(world.clock.next_wake(), 5))
        world.settle()
        assert job.rounds == 3
    finally:
        job.stop()
        world.run(asyncio.wait_for(running, 5))

    after = card(world)
    assert after["status"] == "unpaired" and after["scheduled"] == []
    subject = world.run(world.deps.repo.subject("s-1"))
    [record] = subject.pairings
    assert (record.ended_on, record.end_reason) == (NEW_YEAR_S_EVE, EndReason.cadre_retired)
    assert subject.cadres_on(NEW_YEAR_S_EVE) == ["c-1"]  # still responsible on the day itself
    [waiting] = queue(world)
    assert (waiting["waiting_since"], waiting["waiting_days"]) == ("2026-12-31", 0)
    assert not world.run(world.deps.repo.cadre("c-1")).can_take_pairings
    assert world.run(apply_due_changes(world.deps)) == 0  # once


def test_a_transfer_out_of_the_area_dated_ahead_waits_and_then_moves_the_cadre(world: World) -> None:
    away = TransferCadre(
        cadre_id="c-1",
        effective_on=NEW_YEAR_S_EVE,
        unit_id="u-2",
        unit_name="临夏州民政局",
        leaves_area=True,
        links=Links(village_codes=(VILLAGE.village_code,)),
    )
    world.run(handlers.transfer_cadre(world.deps, away, META))
    world.settle()
    assert card(world)["scheduled"][0]["message"] == "结对干部将于2026-12-31调离本县"
    assert world.run(apply_due_changes(world.deps)) == 0
    cadre = world.run(world.deps.repo.cadre("c-1"))
    assert cadre.details is not None and cadre.details.unit_id == "u-1"

    world.clock.set_today(date(2027, 1, 2))  # the service was down on the day: the next round catches up
    assert world.run(apply_due_changes(world.deps)) == 1
    world.settle()
    cadre = world.run(world.deps.repo.cadre("c-1"))
    assert cadre.details is not None and cadre.details.unit_id == "u-2" and not cadre.can_take_pairings
    [waiting] = queue(world)
    assert (waiting["waiting_since"], waiting["waiting_days"]) == ("2026-12-31", 2)


def test_an_ending_dated_ahead_ends_the_pairing_on_its_date(world: World) -> None:
    ending = handlers.end_pairing(
        world.deps,
        EndPairing(
            subject_id="s-1", reason=EndReason.operator, note="随监护人迁居", effective_on=NEW_YEAR_S_EVE
        ),
        META,
    )
    world.run(ending)
    world.settle()
    assert card(world)["status"] == "paired"
    assert card(world)["scheduled"][0]["message"] == "本结对将于2026-12-31解除"
    world.clock.set_today(NEW_YEAR_S_EVE)
    assert world.run(apply_due_changes(world.deps)) == 1
    world.settle()
    assert card(world)["status"] == "unpaired"
    [record] = world.run(world.deps.repo.subject("s-1")).pairings
    assert record.ended_on == NEW_YEAR_S_EVE
    assert queue(world) == []  # ended by hand: nobody is queued


def test_at_gansu_morning_a_retirement_dated_that_day_takes_effect_at_once(world: World) -> None:
    world.clock.set(datetime(2027, 3, 1, 7, 30, tzinfo=SHANGHAI))  # 2027-02-28 23:30 in UTC
    retirement = RetireCadre(cadre_id="c-1", effective_on=date(2027, 3, 1), continues=False)
    world.run(handlers.retire_cadre(world.deps, retirement, META))
    world.settle()
    [record] = world.run(world.deps.repo.subject("s-1")).pairings
    assert (record.ended_on, record.end_reason) == (date(2027, 3, 1), EndReason.cadre_retired)
    [waiting] = queue(world)
    assert (waiting["waiting_since"], waiting["waiting_days"]) == ("2027-03-01", 0)


def test_a_date_too_far_ahead_and_a_death_in_the_future_are_refused(world: World) -> None:
    with pytest.raises(Refused, match="最多提前一年登记"):
        world.run(
            handlers.retire_cadre(
                world.deps,
                RetireCadre(cadre_id="c-1", effective_on=TODAY + timedelta(days=400), continues=False),
                META,
            )
        )
    died = ChangeSituation(subject_id="s-1", situation=Situation.died, effective_on=NEW_YEAR_S_EVE)
    with pytest.raises(Refused, match="请填写实际去世的日期"):
        world.run(handlers.change_situation(world.deps, died, META))
    assert card(world)["status"] == "paired"
