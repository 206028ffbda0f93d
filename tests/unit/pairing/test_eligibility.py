"""Section 二: who is a 关爱对象."""

from datetime import date

from services.pairing.domain.eligibility import EligibilityFacts, check_eligibility, full_years
from shared.contracts.people import (
    CareSetting,
    Dibao,
    DisabilityType,
    OrphanType,
    ParentSituation,
    Residence,
    SubjectCategory,
    Tekun,
)

TODAY = date(2026, 11, 29)


def codes(facts: EligibilityFacts) -> list[str]:
    return [r.code for r in check_eligibility(facts, TODAY)]


def orphan(**changes: object) -> EligibilityFacts:
    values: dict = dict(
        category=SubjectCategory.orphan,
        birth_date=date(2015, 6, 1),
        orphan_type=OrphanType.orphan,
        care_setting=CareSetting.scattered,
    )
    values.update(changes)
    return EligibilityFacts(**values)


def disabled(**changes: object) -> EligibilityFacts:
    values: dict = dict(
        category=SubjectCategory.severely_disabled,
        birth_date=date(1970, 1, 1),
        disability_level=1,
        disability_certificate="62292519700101123X11",
        dibao=Dibao(area=Residence.rural, grade=1),
        disability_types=(DisabilityType.physical,),
        care_setting=CareSetting.scattered,
    )
    values.update(changes)
    return EligibilityFacts(**values)


def test_a_scattered_orphan_is_eligible() -> None:
    assert codes(orphan()) == []


def test_an_institution_raised_orphan_is_eligible_unless_mentally_or_intellectually_disabled() -> None:
    assert codes(orphan(care_setting=CareSetting.institution)) == []
    assert codes(
        orphan(care_setting=CareSetting.institution, disability_types=(DisabilityType.intellectual,))
    ) == ["institution_orphan_mental_or_intellectual"]
    assert codes(orphan(care_setting=CareSetting.institution, disability_types=(DisabilityType.mental,))) == [
        "institution_orphan_mental_or_intellectual"
    ]


def test_a_scattered_orphan_with_an_intellectual_disability_is_eligible() -> None:
    assert codes(orphan(disability_types=(DisabilityType.intellectual,))) == []


def test_a_de_facto_orphan_needs_the_parents_situation() -> None:
    assert codes(orphan(orphan_type=OrphanType.de_facto_orphan)) == ["parents_situation_missing"]
    facts = orphan(orphan_type=OrphanType.de_facto_orphan, parents_situation=(ParentSituation.imprisoned,))
    assert codes(facts) == []


def test_an_orphan_stops_being_one_on_the_18th_birthday() -> None:
    assert codes(orphan(birth_date=date(2008, 11, 30))) == []
    assert codes(orphan(birth_date=date(2008, 11, 29))) == ["orphan_adult"]


def test_a_level_three_disabled_person_is_not_a_subject() -> None:
    refusals = check_eligibility(disabled(disability_level=3), TODAY)
    assert [r.code for r in refusals] == ["disability_level_not_severe"]
    assert "3级" in refusals[0].message


def test_a_disabled_person_not_on_dibao_or_in_an_institution_is_not_a_subject() -> None:
    assert codes(disabled(dibao=None)) == ["not_on_dibao"]
    assert codes(disabled(care_setting=CareSetting.institution)) == ["disabled_in_institution"]
    assert codes(disabled(disability_certificate="")) == ["no_disability_certificate"]


def test_only_tekun_supported_at_home_is_eligible() -> None:
    home = EligibilityFacts(
        SubjectCategory.extreme_poverty,
        date(1950, 1, 1),
        tekun=Tekun(area=Residence.rural, setting=CareSetting.scattered),
    )
    concentrated = EligibilityFacts(
        SubjectCategory.extreme_poverty,
        date(1950, 1, 1),
        tekun=Tekun(area=Residence.rural, setting=CareSetting.institution),
    )
    assert codes(home) == []
    assert codes(concentrated) == ["tekun_concentrated"]


def test_full_years_count_a_birthday_on_the_day_and_a_leap_day_on_the_first_of_march() -> None:
    assert full_years(date(1986, 5, 17), date(2026, 5, 17)) == 40
    assert full_years(date(1986, 5, 17), date(2026, 5, 16)) == 39
    assert full_years(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert full_years(date(2008, 2, 29), date(2026, 3, 1)) == 18
