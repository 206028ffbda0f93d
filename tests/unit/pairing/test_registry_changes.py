"""What an append changes in the registries, computed from its events without I/O."""

from __future__ import annotations

import uuid
from datetime import date

from services.pairing.domain import registry
from services.pairing.domain.cadre import CadreState
from services.pairing.domain.cadre import decide_register as decide_register_cadre
from services.pairing.domain.subject import SubjectState, decide_register
from shared.contracts.pairing import (
    CadreReassigned,
    CadreRetired,
    CadreTransferred,
    EndReason,
    PairingEnded,
    PairingReviewOpened,
    Situation,
    SubjectExited,
)
from shared.contracts.people import CadreKind, Gender, Links, Rank, RankTier, RankTitle
from tests.support.pairing_people import orphan, unit_leader

TODAY = date(2026, 11, 29)


def test_a_registration_claims_the_id_number_and_joins_the_household() -> None:
    command = orphan("s-1", date(2015, 1, 1), 11)
    changes = registry.changes_of(decide_register(SubjectState("s-1"), command, TODAY))
    assert changes == [
        registry.ClaimIdNumber("s-1", command.id_number, "该身份证号已登记为关爱对象，不能重复登记"),
        registry.JoinHousehold("s-1", "h-s-1"),
    ]


def test_a_cadre_registration_claims_name_birth_and_unit_and_enrols_the_cadre() -> None:
    changes = registry.changes_of(decide_register_cadre(CadreState("c-1"), unit_leader("c-1", name="李明")))
    assert changes == [
        registry.ClaimCadre("c-1", "李明", date(1975, 1, 1), "u-1"),
        registry.EnrolCadre(
            registry.CadreEntry(
                cadre_id="c-1",
                unit_id="u-1",
                kind=CadreKind.unit_leader,
                gender=Gender.male,
                rank=Rank(tier=RankTier.township, title=RankTitle.principal),
                party_member=True,
                links=Links(village_codes=("622925100201",)),
            )
        ),
    ]


def test_departures_change_availability_only_when_the_cadre_stops() -> None:
    stays = CadreRetired(cadre_id="c-1", effective_on=TODAY, continues=True)
    stops = CadreRetired(cadre_id="c-1", effective_on=TODAY, continues=False)
    moves = CadreTransferred(
        cadre_id="c-1", effective_on=TODAY, unit_id="u-2", unit_name="州民政局", leaves_area=False
    )
    assert registry.changes_of([stays, stops, moves]) == [
        registry.ChangeCadre("c-1", available=True),
        registry.ChangeCadre("c-1", available=False),
        registry.ChangeCadre("c-1", unit_id="u-2", links=Links()),
    ]


def test_a_reassignment_releases_the_old_cadre_then_holds_the_new_one() -> None:
    pairing_id, previous = uuid.uuid4(), uuid.uuid4()
    moved = CadreReassigned(
        pairing_id=pairing_id,
        previous_pairing_id=previous,
        subject_id="s-1",
        household_id="h-1",
        from_cadre_id="c-1",
        to_cadre_id="c-2",
        unit_id="u-1",
        effective_on=TODAY,
        reason=EndReason.reassigned,
    )
    ended = PairingEnded(
        pairing_id=pairing_id, subject_id="s-1", cadre_id="c-2", effective_on=TODAY, reason=EndReason.operator
    )
    exited = SubjectExited(subject_id="s-1", reason=Situation.died, effective_on=TODAY)
    assert registry.changes_of([moved, ended, exited]) == [
        registry.Release("s-1"),
        registry.Hold("s-1", pairing_id, "c-2", "h-1", "u-1", TODAY),
        registry.Release("s-1"),
        registry.LeaveHousehold("s-1"),
    ]


def test_events_that_touch_no_registry_change_nothing() -> None:
    opened = PairingReviewOpened(
        review_id=uuid.uuid4(), pairing_id=uuid.uuid4(), subject_id="s-1", cadre_id="c-1", cause="moved"
    )
    assert registry.changes_of([opened]) == []
