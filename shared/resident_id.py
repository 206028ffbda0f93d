"""Builds resident ID numbers (公民身份号码) with the GB 11643 check digit, for examples."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric


def resident_id(division: str, born: date, sequence: int) -> str:
    """The number of `division`, `born` and a 3-digit sequence (odd for men, even for women)."""
    first17 = f"{division}{born:%Y%m%d}{sequence:03d}"
    # calc_check_digit takes a whole number and ignores its last character: give it a placeholder.
    return first17 + ric.calc_check_digit(first17 + "0")
