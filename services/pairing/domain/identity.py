"""Checks of identity documents and contact details, with messages that say what to fix.

Resident ID numbers (公民身份号码) are checked with python-stdnum: 18 characters, a real
division code, a valid birth date and the ISO 7064 check digit. When the form also gives a
birth date or a gender, they must agree with the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from shared.contracts.people import Gender

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


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
    cleaned = ric.compact(number or "").upper()
    if len(cleaned) != 18:
        raise InvalidIdentity(field, "id_length", f"身份证号应为18位，当前为{len(cleaned)}位")
    if not ID_SHAPE.match(cleaned):
        raise InvalidIdentity(field, "id_format", "身份证号前17位应为数字，最后一位为数字或X")
    # In the order a person checks a card: the birth date, the place, then the check digit.
    try:
        ric.get_birth_date(cleaned)
    except ValidationError:
        raise InvalidIdentity(
            field, "id_birth_date", f"身份证号中的出生日期{cleaned[6:14]}不是有效日期"
        ) from None
    try:
        ric.get_birth_place(cleaned)
    except ValidationError:
        raise InvalidIdentity(field, "id_division", f"身份证号前6位行政区划代码{cleaned[:6]}不存在") from None
    if ric.calc_check_digit(cleaned[:17]) != cleaned[17]:
        raise InvalidIdentity(field, "id_checksum", "身份证号校验位不正确：请核对每一位数字")
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
