"""Resident ID numbers (公民身份号码) for tests, all from one generator."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric

CHECK_CHARACTERS = "0123456789X"


def resident_id(division: str, born: date, female: bool, serial: int = 0) -> str:
    """The number of someone born in `division` on `born`; serials 0–498 tell people apart."""
    if not 0 <= serial <= 498:
        raise ValueError(f"serial {serial} is outside 0–498")
    first17 = f"{division}{born:%Y%m%d}{2 * serial + (2 if female else 1):03d}"
    return first17 + ric.calc_check_digit(first17)


def wrong_check_digit(number: str) -> str:
    """The same number with another check character."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")
