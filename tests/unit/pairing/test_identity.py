"""Resident ID numbers and phones: each mistake named in Chinese."""

from datetime import date, timedelta

import pytest

from services.pairing.domain.identity import InvalidIdentity, check_phone, check_resident_id
from shared.contracts.people import Gender
from shared.resident_id import resident_id
from tests.support.identity import wrong_check_digit

# GB 11643's own example: born 1949-12-31 in 北京市朝阳区, sequence 002 (a woman), check X.
STANDARD_EXAMPLE = "11010519491231002X"
CHECK_CHARACTERS = "0123456789X"


def mod_11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 written out here, so that no number below comes from the code under test."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    return CHECK_CHARACTERS[(12 - total % 11) % 11]


def complete(first17: str) -> str:
    return first17 + mod_11_2(first17)


# Real division codes, each with the first year from which numbers can carry it.
DIVISIONS = {
    "622925": 1940,  # 甘肃省临夏州和政县
    "622921": 1940,  # 甘肃省临夏州临夏县
    "620102": 1983,  # 甘肃省兰州市城关区
    "110105": 1940,  # 北京市朝阳区
    "440305": 1990,  # 广东省深圳市南山区
    "622901": 1983,  # 甘肃省临夏州临夏市
}
LAST_BIRTH_DATE = date(2024, 12, 31)


def genuine_numbers() -> list[str]:
    """Fifty numbers a division: birth dates spread over its years, sequences over 001–999."""
    numbers = []
    for division, first_year in DIVISIONS.items():
        first = date(first_year, 1, 1)
        span = (LAST_BIRTH_DATE - first).days
        for n in range(50):
            born = first + timedelta(days=n * 7919 % span)
            sequence = n * 197 % 999 + 1
            numbers.append(complete(f"{division}{born:%Y%m%d}{sequence:03d}"))
    return numbers


GENUINE = genuine_numbers()
HEZHENG_BOY = complete("62292520080101123")  # 和政县, 2008-01-01, odd: male


def test_the_independent_check_digit_gives_the_standards_example() -> None:
    assert complete(STANDARD_EXAMPLE[:17]) == STANDARD_EXAMPLE


def test_the_genuine_numbers_cover_every_check_character() -> None:
    assert len(set(GENUINE)) == len(GENUINE) >= 300
    assert {number[-1] for number in GENUINE} == set(CHECK_CHARACTERS)


def test_the_standards_example_is_accepted() -> None:
    born = date(1949, 12, 31)
    checked = check_resident_id(STANDARD_EXAMPLE.lower(), birth_date=born, gender=Gender.female)
    assert (checked.number, checked.birth_date, checked.gender) == (STANDARD_EXAMPLE, born, Gender.female)


def test_the_example_numbers_of_the_demo_and_the_template_get_the_same_check_digits() -> None:
    for number in GENUINE:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        assert resident_id(number[:6], born, int(number[14:17])) == number


@pytest.mark.parametrize("number", GENUINE)
def test_a_genuine_number_is_accepted_with_its_birth_date_and_gender(number: str) -> None:
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    gender = Gender.male if int(number[16]) % 2 else Gender.female
    checked = check_resident_id(number, birth_date=born, gender=gender)
    assert (checked.number, checked.birth_date, checked.gender) == (number, born, gender)


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE, *GENUINE])
def test_every_other_check_character_is_refused_as_a_wrong_check_digit(number: str) -> None:
    for wrong in CHECK_CHARACTERS.replace(number[-1], ""):
        with pytest.raises(InvalidIdentity) as caught:
            check_resident_id(number[:-1] + wrong)
        assert caught.value.code == "id_checksum", number[:-1] + wrong


@pytest.mark.parametrize(
    "number,code",
    [
        ("62292520080101", "id_length"),
        ("62292520080101123A", "id_format"),
        ("6229252008010A1234", "id_format"),
        (complete("62292520081301123"), "id_birth_date"),
        (complete("62292520080230123"), "id_birth_date"),
        (complete("99999920080101123"), "id_division"),
        (wrong_check_digit(HEZHENG_BOY), "id_checksum"),
    ],
)
def test_each_kind_of_mistake_has_its_own_code(number: str, code: str) -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_resident_id(number, field="guardian.id_number")
    assert caught.value.code == code
    assert caught.value.field == "guardian.id_number"


@pytest.mark.parametrize(
    "first17,code,said",
    [
        ("62292520081301123", "id_birth_date", "出生日期20081301不是有效日期"),
        ("99999920080101123", "id_division", "行政区划代码999999不存在"),
    ],
)
def test_an_impossible_date_or_place_is_named_whatever_the_check_digit(
    first17: str, code: str, said: str
) -> None:
    for last in CHECK_CHARACTERS:
        with pytest.raises(InvalidIdentity, match=said) as caught:
            check_resident_id(first17 + last)
        assert caught.value.code == code


def test_a_division_that_did_not_exist_in_the_birth_year_says_so() -> None:
    with pytest.raises(InvalidIdentity, match="1995年") as caught:
        check_resident_id(complete("62060219950101123"))  # 武威市凉州区 has its code since 2001
    assert caught.value.code == "id_division"


def test_a_code_the_tables_list_without_a_county_is_refused_as_a_place_not_a_crash() -> None:
    # 嘉峪关市 is a city without counties: its people carry 620200, and no county has 620201.
    with pytest.raises(InvalidIdentity) as caught:
        check_resident_id(complete("62020120000101001"))
    assert caught.value.code == "id_division" and "620201" in str(caught.value)
    assert check_resident_id(complete("62020020000101001")).birth_date == date(2000, 1, 1)


@pytest.mark.parametrize(
    "first17",
    [
        "62010219500101123",  # 兰州市城关区, code since 1983: numbers were first issued in 1984
        "62290119380705242",  # 临夏市, code since 1983
        "44030519620315451",  # 深圳市南山区, code since 1990
    ],
)
def test_someone_born_before_numbers_were_issued_may_carry_a_younger_code(first17: str) -> None:
    number = complete(first17)
    assert check_resident_id(number).number == number
    with pytest.raises(InvalidIdentity) as caught:
        check_resident_id(wrong_check_digit(number))
    assert caught.value.code == "id_checksum"


def test_a_code_given_up_before_numbers_were_issued_is_not_younger_than_anyone() -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_resident_id(complete("62012019900101123"))  # 兰州市市区: used until 1983
    assert caught.value.code == "id_division"


def test_a_number_that_disagrees_with_the_form_is_refused() -> None:
    with pytest.raises(InvalidIdentity, match="出生日期") as caught:
        check_resident_id(HEZHENG_BOY, birth_date=date(2008, 1, 2))
    assert caught.value.code == "id_birth_date_mismatch"
    with pytest.raises(InvalidIdentity, match="性别") as caught:
        check_resident_id(HEZHENG_BOY, gender=Gender.female)
    assert caught.value.code == "id_gender_mismatch"


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "0930-5521234", "09305521234"])
def test_mobiles_and_landlines_with_area_codes_are_accepted(phone: str) -> None:
    assert check_phone(phone)


@pytest.mark.parametrize("phone", ["12345", "23800138000", "5521234"])
def test_other_phones_are_refused(phone: str) -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_phone(phone)
    assert caught.value.code == "phone_invalid"
