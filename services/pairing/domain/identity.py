"""Checks of identity documents and contact details, with messages that say what to fix.

Resident ID numbers (公民身份号码) are validated by python-stdnum's `ric.validate`: 18
characters, the GB 11643 check digit (ISO 7064 MOD 11-2), a valid birth date and a division
code in use in the birth year. stdnum looks at the check digit before the date and the place;
a refusal here names the most precise fault instead: the length, the format, an impossible
birth date, a division code not in use, and only then the check digit. So 20081301 is called
an invalid date whether or not the check digit fits, since no check digit could make it right.
When the form also gives a birth date or a gender, they must agree with the number.

One exception to stdnum's place rule. Numbers were first issued in 1984, each with the division
code of the place of registration at that time, and a number never changes afterwards. Someone
born before 1984 therefore carries a code that may be younger than they are (an old woman born
in 1950 in 兰州市城关区 has 620102, a code in use since 1983), and stdnum, which asks for a code
in use in the birth year, would refuse her real number. For them, a code in use at any time
since 1984 is accepted, the check digit and the birth date still checked as always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import InvalidFormat, InvalidLength, ValidationError

from shared.contracts.people import Gender

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
FIRST_ISSUED = 1984  # the year resident ID numbers were first issued


class InvalidIdentity(ValueError):
    """An ID number or phone that cannot be right; `field` names the form field."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number and what it encodes."""

    number: str
    birth_date: date
    gender: Gender


def check_resident_id(
    number: str, *, field: str = "id_number", birth_date: date | None = None, gender: Gender | None = None
) -> ResidentId:
    """Returns the checked number (upper-case X), or raises `InvalidIdentity` saying why."""
    try:
        cleaned = ric.validate(number or "")
    except ValidationError as error:
        cleaned = ric.compact(number or "").upper()
        if not _issued_after_birth(cleaned):
            raise _refusal(cleaned, field, error) from None
    except KeyError:
        # stdnum fails this way on a code it lists with no county under it (620201: Jiayuguan
        # is a city without counties): a place that does not exist, not a fault of ours.
        cleaned = ric.compact(number or "").upper()
        raise _division_refusal(cleaned[:6], ric.get_birth_date(cleaned).year, field) from None
    encoded_birth = ric.get_birth_date(cleaned)
    encoded_gender = Gender.male if int(cleaned[16]) % 2 else Gender.female
    if birth_date is not None and birth_date != encoded_birth:
        raise InvalidIdentity(
            field,
            "id_birth_date_mismatch",
            f"身份证号中的出生日期为{encoded_birth.isoformat()}，与填写的出生日期{birth_date.isoformat()}不一致",
        )
    if gender is not None and gender is not encoded_gender:
        said = "男" if encoded_gender is Gender.male else "女"
        raise InvalidIdentity(field, "id_gender_mismatch", f"身份证号显示性别为{said}，与填写的性别不一致")
    return ResidentId(cleaned, encoded_birth, encoded_gender)


def _refusal(cleaned: str, field: str, error: ValidationError) -> InvalidIdentity:
    """Why stdnum refused the number: the date and the place are named before the check digit."""
    if isinstance(error, InvalidLength):
        return InvalidIdentity(field, "id_length", f"身份证号应为18位，当前为{len(cleaned)}位")
    # stdnum calls a last character other than a digit or X a wrong check digit.
    if isinstance(error, InvalidFormat) or not ID_SHAPE.match(cleaned):
        return InvalidIdentity(field, "id_format", "身份证号前17位应为数字，最后一位为数字或X")
    try:
        born = ric.get_birth_date(cleaned)
    except ValidationError:
        return InvalidIdentity(field, "id_birth_date", f"身份证号中的出生日期{cleaned[6:14]}不是有效日期")
    try:
        ric.get_birth_place(cleaned)
    except ValidationError:
        if not (born.year < FIRST_ISSUED and _in_use_since(cleaned[:6], FIRST_ISSUED)):
            return _division_refusal(cleaned[:6], born.year, field)
    # What is left is the check digit: stdnum's other refusals are the date and the place.
    return InvalidIdentity(field, "id_checksum", "身份证号校验位不正确：请核对每一位数字")


def _issued_after_birth(cleaned: str) -> bool:
    """A number refused only because its code is younger than someone born before 1984."""
    if not ID_SHAPE.match(cleaned) or ric.calc_check_digit(cleaned) != cleaned[-1]:
        return False
    try:
        born = ric.get_birth_date(cleaned)
    except ValidationError:
        return False
    return born.year < FIRST_ISSUED and _in_use_since(cleaned[:6], FIRST_ISSUED)


def _in_use_since(code: str, year: int) -> bool:
    """Whether the county code was in use in `year` or later (stdnum's `[start-end]name` entries)."""
    for _, found in numdb.get("cn/loc").info(code):
        for county in found.get("county", "").split(","):
            if not county:
                continue
            if not county.startswith("["):
                return True
            end = county[1:].split("]")[0].split("-")[1]
            if not end or int(end) >= year:
                return True
    return False


def _division_refusal(code: str, year: int, field: str) -> InvalidIdentity:
    """A division code that never existed, or one not in use in the birth year."""
    known = any("county" in found for _, found in numdb.get("cn/loc").info(code))
    when = f"在出生年份{year}年" if known else ""
    return InvalidIdentity(field, "id_division", f"身份证号前6位行政区划代码{code}{when}不存在")


def check_phone(phone: str, *, field: str = "phone", required: bool = False) -> str:
    """Returns the phone without spaces; a mobile (11 digits) or a landline with area code."""
    cleaned = re.sub(r"[\s()]", "", phone or "")
    if not cleaned:
        if required:
            raise InvalidIdentity(field, "phone_missing", "请填写联系电话")
        return ""
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    if MOBILE.match(cleaned) or LANDLINE.match(cleaned):
        return cleaned
    raise InvalidIdentity(
        field, "phone_invalid", f"联系电话“{cleaned}”无效：应为11位手机号或带区号的固定电话（如0930-5521234）"
    )
