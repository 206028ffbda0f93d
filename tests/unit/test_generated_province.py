"""The generated province looks like the programme's people: checked by the rules, not by itself.

Every ID number is checked by python-stdnum, every village against the shipped division data,
and every subject by the pairing service's own eligibility rules (what registration applies).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from stdnum.cn import ric

from bench.province import KINDS, SCALES, SHARES, cadres, subjects
from services.pairing.domain.cadre import CadreState, decide_register
from services.pairing.domain.eligibility import EligibilityFacts, check_eligibility
from shared.contracts.people import CadreKind, RankTier
from shared.divisions import Level, divisions

TODAY = date(2026, 11, 30)
PEOPLE = list(subjects(SCALES["county"], seed=11, today=TODAY, count=600))


def test_every_id_number_is_valid_unique_and_on_the_person_s_county_and_birth_date() -> None:
    numbers = [p.id_number for p in PEOPLE]
    assert len(set(numbers)) == len(numbers)
    for person in PEOPLE:
        assert ric.is_valid(person.id_number), person.id_number
        assert person.id_number[:6] == person.residence.county_code
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert (int(person.id_number[16]) % 2 == 1) == (person.gender.value == "male")


def test_every_village_is_real_and_in_the_county_asked_for() -> None:
    gansu = divisions("62")
    for person in PEOPLE:
        village = person.residence.village_code
        assert gansu.get(village) is not None and gansu.get(village).level is Level.village  # type: ignore[union-attr]
        assert village.startswith("622925") and person.residence.township_code == village[:9]
        assert person.residence_address.village == gansu.name(village)


def test_every_subject_is_eligible_by_the_pairing_rules() -> None:
    for person in PEOPLE:
        facts = EligibilityFacts(
            category=person.category,
            birth_date=person.birth_date,
            orphan_type=person.orphan_type,
            parents_situation=person.parents_situation,
            care_setting=person.care_setting,
            disability_types=person.disability_types,
            disability_level=person.disability_level,
            disability_certificate=person.disability_certificate,
            dibao=person.dibao,
            tekun=person.tekun,
        )
        assert check_eligibility(facts, TODAY) == [], person


def test_categories_come_in_the_shares_and_households_hold_one_to_three() -> None:
    counts = Counter(p.category for p in PEOPLE)
    for category, share in SHARES.items():
        assert abs(counts[category] / len(PEOPLE) - share) < 0.08, (category, counts)
    sizes = Counter(Counter(p.household_id for p in PEOPLE).values())
    assert set(sizes) <= {1, 2, 3} and sizes[1] > 0 and sizes[2] + sizes[3] > 0
    # A household is one category, at one place.
    by_household: dict[str, set[tuple[str, str]]] = {}
    for p in PEOPLE:
        by_household.setdefault(p.household_id, set()).add((p.category.value, p.residence.village_code))
    assert all(len(kinds) == 1 for kinds in by_household.values())


def test_the_same_seed_gives_the_same_people_and_another_seed_others() -> None:
    again = list(subjects(SCALES["county"], seed=11, today=TODAY, count=600))
    other = list(subjects(SCALES["county"], seed=12, today=TODAY, count=600))
    assert again == PEOPLE
    assert [p.id_number for p in other] != [p.id_number for p in PEOPLE]


def test_a_city_spreads_over_its_counties() -> None:
    people = list(subjects(SCALES["city"], seed=3, today=TODAY, count=400))
    counties = {p.residence.county_code for p in people}
    assert len(counties) >= 5 and all(c.startswith("6229") for c in counties)


CADRES = list(cadres(SCALES["county"], seed=11, today=TODAY, count=600))


def test_every_cadre_registers_under_the_service_s_own_rules() -> None:
    for command in CADRES:
        [event] = decide_register(CadreState(command.cadre_id), command)
        assert event.cadre_id == command.cadre_id


def test_cadres_of_every_kind_in_units_linked_with_real_places() -> None:
    gansu = divisions("62")
    assert {c.kind for c in CADRES} == set(KINDS)
    for cadre in CADRES:
        places = (*cadre.links.township_codes, *cadre.links.village_codes, cadre.links.resident_village_code)
        assert any(places), cadre
        assert all(gansu.get(p) is not None and p.startswith("622925") for p in places if p), cadre
        if cadre.kind is CadreKind.unit_cadre:
            assert cadre.party_member and cadre.rank.tier is RankTier.below_section
        if cadre.kind is CadreKind.county_leader:
            assert cadre.rank.tier is RankTier.county
    assert len({c.unit_id for c in CADRES}) > 20


def test_a_province_has_leaders_of_the_prefectures_and_the_province() -> None:
    kinds = {c.kind for c in cadres(SCALES["province"], seed=5, today=TODAY, count=20_000)}
    assert {CadreKind.prefecture_leader, CadreKind.province_leader} <= kinds
