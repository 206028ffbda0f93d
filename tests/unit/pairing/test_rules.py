"""Sections 五 and 六: who may be paired with whom."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.pairing.domain.refusals import Strength
from services.pairing.domain.rules import CadreView, PairingContext, SubjectView, check_pairing
from shared.contracts.people import (
    CadreKind,
    Gender,
    Links,
    Place,
    Rank,
    RankTier,
    RankTitle,
    SubjectCategory,
)
from tests.support.pairing_people import VILLAGE

OTHER_VILLAGE = Place(county_code="622925", township_code="622925101", village_code="622925101202")


def girl(**changes: object) -> SubjectView:
    values: dict = dict(
        subject_id="s-girl",
        household_id="h-1",
        name="马小花",
        category=SubjectCategory.orphan,
        gender=Gender.female,
        birth_date=date(2014, 5, 17),
        residence=VILLAGE,
        registered=VILLAGE,
    )
    values.update(changes)
    return SubjectView(**values)


def cadre(**changes: object) -> CadreView:
    values: dict = dict(
        cadre_id="c-1",
        name="李明",
        kind=CadreKind.unit_leader,
        gender=Gender.female,
        birth_date=date(1980, 1, 1),
        rank=Rank(tier=RankTier.township, title=RankTitle.principal),
        party_member=True,
        links=Links(village_codes=(VILLAGE.village_code,)),
    )
    values.update(changes)
    return CadreView(**values)


def codes(subject: SubjectView, c: CadreView, context: PairingContext | None = None) -> list[str]:
    return [r.code for r in check_pairing(subject, c, context or PairingContext())]


def test_a_female_unit_leader_linked_with_the_girls_village_may_pair() -> None:
    assert codes(girl(), cadre()) == []


def test_a_girls_only_candidate_exactly_40_years_older_qualifies() -> None:
    man = cadre(gender=Gender.male, birth_date=date(1974, 5, 17))
    assert codes(girl(), man) == []
    a_day_short = cadre(gender=Gender.male, birth_date=date(1974, 5, 18))
    [refusal] = check_pairing(girl(), a_day_short, PairingContext())
    assert refusal.code == "male_cadre_age_gap"
    assert refusal.strength is Strength.in_principle
    assert "相差39周岁" in refusal.message


def test_a_man_is_refused_in_principle_while_an_eligible_woman_is_available() -> None:
    man = cadre(gender=Gender.male, birth_date=date(1960, 1, 1))
    [refusal] = check_pairing(girl(), man, PairingContext(female_cadre_available=True))
    assert refusal.code == "girl_needs_female_cadre"
    assert refusal.overridable


def test_the_gender_rule_is_for_girls_who_are_orphans_only() -> None:
    man = cadre(gender=Gender.male, birth_date=date(1990, 1, 1))
    assert codes(girl(gender=Gender.male), man) == []
    disabled_woman = girl(category=SubjectCategory.severely_disabled, birth_date=date(1990, 1, 1))
    assert codes(disabled_woman, man) == []


def test_a_county_leader_offered_a_disabled_subject_is_refused_by_a_hard_rule() -> None:
    leader = cadre(kind=CadreKind.county_leader, rank=Rank(tier=RankTier.county, title=RankTitle.deputy))
    subject = girl(category=SubjectCategory.severely_disabled, birth_date=date(1970, 1, 1))
    [refusal] = check_pairing(subject, leader, PairingContext())
    assert refusal.code == "leader_orphans_only"
    assert not refusal.overridable
    assert "李明" in refusal.message and "马小花" in refusal.message


def test_a_county_leader_pairs_with_orphans_of_a_linked_township() -> None:
    leader = cadre(kind=CadreKind.county_leader, links=Links(township_codes=(VILLAGE.township_code,)))
    assert codes(girl(), leader) == []
    assert codes(girl(residence=OTHER_VILLAGE), leader) == ["outside_linked_area"]


def test_the_actual_residence_decides_not_the_registered_address() -> None:
    moved = girl(residence=OTHER_VILLAGE, registered=VILLAGE)
    assert codes(moved, cadre()) == ["outside_linked_villages"]
    came_here = girl(residence=VILLAGE, registered=OTHER_VILLAGE)
    assert codes(came_here, cadre()) == []


def test_a_residence_outside_the_province_falls_back_to_the_registered_place() -> None:
    away = girl(residence=Place(outside_province=True), registered=VILLAGE)
    assert codes(away, cadre()) == []


def test_a_resident_village_cadre_pairs_within_the_township_of_their_village() -> None:
    resident = cadre(
        kind=CadreKind.resident_village_cadre,
        links=Links(resident_village_code="622925100299", resident_township_code=VILLAGE.township_code),
    )
    assert codes(girl(), resident) == []
    assert codes(girl(residence=OTHER_VILLAGE), resident) == ["outside_resident_township"]


def test_a_top_up_cadre_must_be_a_party_member_below_section_level() -> None:
    below = Rank(tier=RankTier.below_section, title=RankTitle.clerk_1)
    assert codes(girl(), cadre(kind=CadreKind.unit_cadre, rank=below)) == []
    assert codes(girl(), cadre(kind=CadreKind.unit_cadre, rank=below, party_member=False)) == [
        "unit_cadre_not_eligible"
    ]


def test_a_unit_with_no_linked_village_waits_for_the_county_office() -> None:
    assert codes(girl(), cadre(links=Links())) == ["unit_not_placed"]


def test_one_cadre_holds_one_household_and_one_subject_has_one_cadre() -> None:
    busy = PairingContext(cadre_household_id="h-other")
    assert codes(girl(), cadre(), busy) == ["cadre_already_paired"]
    sibling_of_own = PairingContext(cadre_household_id="h-1")
    assert codes(girl(), cadre(), sibling_of_own) == []
    taken = PairingContext(subject_cadre_id="c-9")
    assert codes(girl(), cadre(), taken) == ["subject_already_paired"]


def test_a_household_of_three_with_a_female_orphan_and_a_male_leader() -> None:
    brother = girl(subject_id="s-2", name="马小军", gender=Gender.male)
    grandmother = girl(
        subject_id="s-3", name="马奶奶", category=SubjectCategory.extreme_poverty, birth_date=date(1950, 3, 3)
    )
    household = (girl(), brother, grandmother)
    male_leader = cadre(
        gender=Gender.male,
        birth_date=date(1980, 1, 1),
        rank=Rank(tier=RankTier.county, title=RankTitle.principal),
    )
    # A leader suits the household; the girl still needs a woman or a man 40 years older.
    refusals = check_pairing(girl(), male_leader, PairingContext(household=household))
    assert [r.code for r in refusals] == ["male_cadre_age_gap"]
    assert codes(brother, male_leader, PairingContext(household=household)) == []
    older = replace(male_leader, birth_date=date(1972, 1, 1))
    assert codes(girl(), older, PairingContext(household=household)) == []


def test_a_household_needs_a_leader_and_one_cadre_in_principle() -> None:
    household = (girl(), girl(subject_id="s-2"))
    clerk = cadre(kind=CadreKind.unit_cadre, rank=Rank(tier=RankTier.below_section, title=RankTitle.clerk_2))
    refusals = check_pairing(girl(), clerk, PairingContext(household=household, household_cadre_id="c-7"))
    assert [r.code for r in refusals] == ["household_has_other_cadre", "household_needs_leader"]
    assert all(r.overridable for r in refusals)


def test_a_cadre_who_retired_without_continuing_takes_no_new_pairing() -> None:
    assert codes(girl(), cadre(can_take_pairings=False)) == ["cadre_unavailable"]
