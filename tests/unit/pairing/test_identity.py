"""Resident ID numbers and phones: each mistake named in Chinese."""

from datetime import date

import pytest
from stdnum.cn import ric

from services.pairing.domain.identity import InvalidIdentity, check_phone, check_resident_id
from shared.contracts.people import Gender


def with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17)


HEZHENG_BOY = with_check_digit("62292520080101123")  # 和政县, 2008-01-01, odd: male


def test_a_valid_number_gives_its_birth_date_and_gender() -> None:
    checked = check_resident_id(HEZHENG_BOY.lower())
    assert checked.birth_date == date(2008, 1, 1)
    assert checked.gender is Gender.male


@pytest.mark.parametrize(
    "number,code",
    [
        ("62292520080101", "id_length"),
        ("62292520080101123A", "id_format"),
        (with_check_digit("62292520081301123"), "id_birth_date"),
        (with_check_digit("99999920080101123"), "id_division"),
        (HEZHENG_BOY[:-1] + ("0" if HEZHENG_BOY[-1] != "0" else "1"), "id_checksum"),
    ],
)
def test_each_kind_of_mistake_has_its_own_code(number: str, code: str) -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_resident_id(number, field="guardian.id_number")
    assert caught.value.code == code
    assert caught.value.field == "guardian.id_number"


def test_a_number_that_disagrees_with_the_form_is_refused() -> None:
    with pytest.raises(InvalidIdentity, match="出生日期"):
        check_resident_id(HEZHENG_BOY, birth_date=date(2008, 1, 2))
    with pytest.raises(InvalidIdentity, match="性别"):
        check_resident_id(HEZHENG_BOY, gender=Gender.female)


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "0930-5521234", "09305521234"])
def test_mobiles_and_landlines_with_area_codes_are_accepted(phone: str) -> None:
    assert check_phone(phone)


@pytest.mark.parametrize("phone", ["12345", "23800138000", "5521234"])
def test_other_phones_are_refused(phone: str) -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_phone(phone)
    assert caught.value.code == "phone_invalid"
