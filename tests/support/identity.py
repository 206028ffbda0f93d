"""Resident ID numbers (公民身份号码) for tests, all from one generator."""

from __future__ import annotations

from datetime import date

from shared.resident_id import resident_id as _number


def resident_id(division: str, born: date, female: bool, serial: int = 0) -> str:
    """The number of someone born in `division` on `born`; serials 0–498 tell people apart."""
    if not 0 <= serial <= 498:
        raise ValueError(f"serial {serial} is outside 0–498")
    return _number(division, born, 2 * serial + (2 if female else 1))


def wrong_check_digit(number: str) -> str:
    """The same number with another check character."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")
