"""A subject's record: pairings, reviews, deaths and exits, decided and folded without I/O."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.pairing.domain import pairing as pairings
from services.pairing.domain import subject as subjects
from services.pairing.domain.cadre import CadreState
from services.pairing.domain.cadre import decide_register as decide_register_cadre
from services.pairing.domain.cadre import evolve as evolve_cadre
from services.pairing.domain.commands import (
    ChangeSituation,
    DecideReview,
    PairSubject,
    ReassignSubject,
    RegisterSubject,
)
from services.pairing.domain.refusals import Refused
from services.pairing.domain.rules import PairingContext
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    EndReason,
    PairingReviewOpened,
    ReviewDecision,
    Situation,
    SubjectExited,
)
from shared.contracts.people import (
    CareSetting,
    Gender,
    OrphanType,
)
from tests.support.pairing_people import VILLAGE, unit_leader

META_OPERATOR = "operator:test"
TODAY = date(2026, 11, 29)


def fold(state: subjects.SubjectState, events: list[EventPayload]) -> subjects.SubjectState:
    for event in events:
        state = subjects.evolve(state, event)
    return state


def girl(born: date = date(2014, 5, 17)) -> RegisterSubject:
    return RegisterSubject(
        subject_id="s-1",
        household_id="h-1",
        name="马小花",
        gender=Gender.female,
        birth_date=born,
        id_number="62292520140517002X",
        residence=VILLAGE,
        category="orphan",
        orphan_type=OrphanType.orphan,
        care_setting=CareSetting.scattered,
    )


def registered_girl(born: date = date(2014, 5, 17)) -> subjects.SubjectState:
    return fold(
        subjects.SubjectState("s-1"),
        subjects.decide_register(subjects.SubjectState("s-1"), girl(born), date(2026, 1, 1)),
    )


def cadre(cadre_id: str, gender: Gender = Gender.female, born: date = date(1980, 1, 1)) -> CadreState:
    details = unit_leader(cadre_id, gender, born, name=f"干部{cadre_id}")
    [registered] = decide_register_cadre(CadreState(cadre_id), details)
    return evolve_cadre(CadreState(cadre_id), registered)


def paired(state: subjects.SubjectState, c: CadreState, on: date = date(2026, 2, 1)) -> subjects.SubjectState:
    command = PairSubject(subject_id=state.subject_id, cadre_id=c.cadre_id, effective_on=on)
    events = pairings.decide_pair(state, c, PairingContext(), command, today=TODAY, operator=META_OPERATOR)
    return fold(state, events)


def review_decision(review_id: uuid.UUID, decision: ReviewDecision, reason: str, unit: str) -> DecideReview:
    return DecideReview(
        subject_id="s-1",
        review_id=review_id,
        decision=decision,
        reason=reason,
        decided_by="civil_affairs",
        unit_confirmed_by=unit,
    )


def test_registering_twice_is_refused() -> None:
    state = registered_girl()
    with pytest.raises(Refused) as caught:
        subjects.decide_register(state, girl(), date(2026, 1, 1))
    assert caught.value.refusals[0].code == "subject_exists"


def test_an_override_given_at_reassignment_stays_on_the_new_pairing() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    man = cadre("c-2", Gender.male, date(1990, 1, 1))
    events = pairings.decide_reassign(
        state,
        man,
        PairingContext(),
        ReassignSubject(
            subject_id="s-1",
            to_cadre_id="c-2",
            effective_on=date(2026, 3, 1),
            overrides={"male_cadre_age_gap": "监护人同意"},
        ),
        today=TODAY,
        operator=META_OPERATOR,
        reason=EndReason.reassigned,
    )
    state = fold(state, events)
    assert state.current is not None and state.current.cadre_id == "c-2"
    assert state.current.overridden == ("male_cadre_age_gap",)
    assert [p.end_reason for p in state.pairings] == [EndReason.reassigned, None]


def test_death_ends_the_pairing_exits_and_closes_open_reviews() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    moved = ChangeSituation(
        subject_id="s-1", situation=Situation.moved_residence, effective_on=date(2026, 4, 1)
    )
    state = fold(state, subjects.decide_situation(state, moved, TODAY))
    assert len(state.open_reviews) == 1
    died = ChangeSituation(subject_id="s-1", situation=Situation.died, effective_on=date(2026, 5, 1))
    events = subjects.decide_situation(state, died, TODAY)
    assert [type(e).__name__ for e in events] == ["SubjectSituationChanged", "PairingEnded", "SubjectExited"]
    state = fold(state, events)
    assert state.exited and state.current is None and state.open_reviews == ()
    with pytest.raises(Refused):
        subjects.decide_situation(state, moved, TODAY)


def test_ending_the_review_of_someone_no_longer_eligible_closes_their_record() -> None:
    state = paired(registered_girl(born=date(2008, 3, 10)), cadre("c-1"))
    turned = ChangeSituation(subject_id="s-1", situation=Situation.turned_18, effective_on=date(2026, 3, 10))
    state = fold(state, subjects.decide_situation(state, turned, TODAY))
    [review] = state.open_reviews
    events = subjects.decide_review(
        state,
        review_decision(review.review_id, ReviewDecision.end, "已年满18周岁", "县民政局"),
        date(2026, 3, 20),
    )
    assert isinstance(events[-1], SubjectExited) and events[-1].reason is Situation.turned_18
    assert fold(state, events).exited


def test_a_kept_pairing_stays_and_a_changed_one_waits_for_a_new_cadre() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    opened = PairingReviewOpened(
        review_id=uuid.uuid4(),
        pairing_id=state.current.pairing_id,  # type: ignore[union-attr]
        subject_id="s-1",
        cadre_id="c-1",
        cause="details_changed",
    )
    state = fold(state, [opened])
    kept = subjects.decide_review(
        state, review_decision(opened.review_id, ReviewDecision.keep, "理由", "单位"), date(2026, 3, 1)
    )
    assert [type(e).__name__ for e in kept] == ["PairingReviewDecided"]
    changed = fold(
        state,
        subjects.decide_review(
            state, review_decision(opened.review_id, ReviewDecision.change, "理由", "单位"), date(2026, 3, 1)
        ),
    )
    assert changed.current is None and changed.waiting_since == date(2026, 3, 1)
    with pytest.raises(Refused, match="复核须写明理由"):
        subjects.decide_review(
            state, review_decision(opened.review_id, ReviewDecision.keep, " ", "单位"), date(2026, 3, 1)
        )


def test_a_cadre_leaving_is_handled_once_however_often_it_is_reported() -> None:
    state = paired(registered_girl(), cadre("c-1"))
    events = subjects.decide_cadre_left(state, "c-1", EndReason.cadre_retired, date(2026, 6, 30))
    state = fold(state, events)
    assert state.waiting_since == date(2026, 6, 30)
    assert subjects.decide_cadre_left(state, "c-1", EndReason.cadre_retired, date(2026, 6, 30)) == []
    assert state.cadres_on(date(2026, 6, 30)) == ["c-1"] and state.cadres_on(date(2026, 7, 1)) == []
