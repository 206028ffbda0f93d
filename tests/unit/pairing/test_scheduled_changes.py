"""Changes dated ahead wait for their day: decided and folded without I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.pairing.domain import cadre as cadres
from services.pairing.domain import subject as subjects
from services.pairing.domain.commands import ChangeSituation, EndPairing, RetireCadre, TransferCadre
from services.pairing.domain.refusals import Refused
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadreDepartureScheduled,
    CadreRetired,
    CadreTransferred,
    EndReason,
    PairingEnded,
    PairingEndScheduled,
    Situation,
)
from shared.contracts.people import Links
from tests.unit.pairing.test_subject_lifecycle import cadre, fold, paired, registered_girl

TODAY = date(2026, 11, 29)
NEW_YEAR_S_EVE = date(2026, 12, 31)


def cadre_fold(state: cadres.CadreState, events: list[EventPayload]) -> cadres.CadreState:
    for event in events:
        state = cadres.evolve(state, event)
    return state


def transfer(on: date, leaves_area: bool = True) -> CadreTransferred:
    return CadreTransferred(
        cadre_id="c-1",
        effective_on=on,
        unit_id="u-2",
        unit_name="临夏州民政局",
        leaves_area=leaves_area,
        links=Links(village_codes=("622925101202",)),
    )


def move(on: date, leaves_area: bool = True) -> TransferCadre:
    """The command whose event is `transfer(on, leaves_area)`."""
    return TransferCadre(
        cadre_id="c-1",
        effective_on=on,
        unit_id="u-2",
        unit_name="临夏州民政局",
        leaves_area=leaves_area,
        links=Links(village_codes=("622925101202",)),
    )


def retire(on: date) -> RetireCadre:
    return RetireCadre(cadre_id="c-1", effective_on=on, continues=False)


def end(on: date, note: str = "") -> EndPairing:
    return EndPairing(subject_id="s-1", reason=EndReason.operator, effective_on=on, note=note)


def test_a_retirement_dated_ahead_is_scheduled_and_changes_nothing_until_its_day() -> None:
    state = cadre("c-1")
    [event] = cadres.decide_retire(state, retire(NEW_YEAR_S_EVE), TODAY)
    assert isinstance(event, CadreDepartureScheduled)
    state = cadre_fold(state, [event])
    assert state.status is cadres.CadreStatus.active and state.can_take_pairings
    assert cadres.decide_due(state, NEW_YEAR_S_EVE - timedelta(days=1)) == []
    [real] = cadres.decide_due(state, NEW_YEAR_S_EVE)
    assert real == CadreRetired(cadre_id="c-1", effective_on=NEW_YEAR_S_EVE, continues=False)
    state = cadre_fold(state, [real])
    assert state.status is cadres.CadreStatus.retired and state.departure is None
    assert cadres.decide_due(state, NEW_YEAR_S_EVE) == []  # once


def test_a_transfer_dated_ahead_becomes_the_same_transfer_on_its_day() -> None:
    state = cadre("c-1")
    scheduled = cadre_fold(state, cadres.decide_transfer(state, move(NEW_YEAR_S_EVE), TODAY))
    assert scheduled.details is not None and scheduled.details.unit_id == "u-1"  # not moved yet
    assert cadres.decide_due(scheduled, date(2027, 1, 3)) == [transfer(NEW_YEAR_S_EVE)]  # a late round


@pytest.mark.parametrize("on", [TODAY, TODAY - timedelta(days=30)])
def test_a_departure_dated_today_or_before_takes_effect_at_once(on: date) -> None:
    assert cadres.decide_retire(cadre("c-1"), retire(on), TODAY) == [
        CadreRetired(cadre_id="c-1", effective_on=on, continues=False)
    ]
    assert cadres.decide_transfer(cadre("c-1"), move(on), TODAY) == [transfer(on)]


def test_a_date_more_than_a_year_ahead_is_refused() -> None:
    assert cadres.decide_retire(cadre("c-1"), retire(TODAY + timedelta(days=366)), TODAY)
    with pytest.raises(Refused) as caught:
        cadres.decide_retire(cadre("c-1"), retire(date(2062, 12, 31)), TODAY)
    [refusal] = caught.value.refusals
    assert refusal.code == "effective_on_too_far" and refusal.cadre_id == "c-1"
    assert refusal.message == "生效日期2062-12-31晚于2027-11-30：最多提前一年登记"


def test_a_second_departure_replaces_the_first_and_one_at_once_replaces_any() -> None:
    state = cadre("c-1")
    state = cadre_fold(state, cadres.decide_retire(state, retire(NEW_YEAR_S_EVE), TODAY))
    state = cadre_fold(state, cadres.decide_transfer(state, move(date(2027, 2, 1)), TODAY))
    assert state.departure is not None and state.departure.effective_on == date(2027, 2, 1)
    assert cadres.decide_due(state, NEW_YEAR_S_EVE) == []  # the retirement no longer stands
    state = cadre_fold(state, cadres.decide_transfer(state, move(TODAY, leaves_area=False), TODAY))
    assert state.departure is None and cadres.decide_due(state, date(2027, 2, 1)) == []


def test_an_ending_dated_ahead_leaves_the_pairing_current_until_its_day() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    [event] = subjects.decide_end(state, end(NEW_YEAR_S_EVE, "随监护人迁往外省"), TODAY)
    assert isinstance(event, PairingEndScheduled)
    state = fold(state, [event])
    assert state.current is not None and state.current.ended_on is None
    assert subjects.decide_due_end(state, TODAY) == []
    [real] = subjects.decide_due_end(state, NEW_YEAR_S_EVE)
    assert isinstance(real, PairingEnded)
    assert (real.effective_on, real.reason) == (NEW_YEAR_S_EVE, EndReason.operator)
    assert real.note == "随监护人迁往外省"
    ended = fold(state, [real])
    assert ended.current is None and ended.scheduled_end is None


def test_an_ending_dated_ahead_that_something_else_overtakes_decides_nothing() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    state = fold(state, subjects.decide_end(state, end(NEW_YEAR_S_EVE), TODAY))
    died = ChangeSituation(subject_id="s-1", situation=Situation.died, effective_on=TODAY)
    state = fold(state, subjects.decide_situation(state, died, TODAY))
    assert state.scheduled_end is None and subjects.decide_due_end(state, NEW_YEAR_S_EVE) == []


def test_a_death_dated_in_the_future_is_refused() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    tomorrow = TODAY + timedelta(days=1)
    died = ChangeSituation(subject_id="s-1", situation=Situation.died, effective_on=tomorrow)
    with pytest.raises(Refused) as caught:
        subjects.decide_situation(state, died, TODAY)
    [refusal] = caught.value.refusals
    assert refusal.code == "death_in_future"
    assert refusal.message == "去世日期2026-11-30晚于今天（2026-11-29）：请填写实际去世的日期"
