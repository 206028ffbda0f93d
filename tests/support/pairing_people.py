"""People the pairing tests share: a village, an orphan there and a unit leader linked with it."""

from __future__ import annotations

from datetime import date

from services.pairing.domain.commands import RegisterCadre, RegisterSubject
from shared.contracts.people import (
    CadreKind,
    CareSetting,
    Gender,
    Links,
    OrphanType,
    Place,
    Rank,
    RankTier,
    RankTitle,
)
from tests.support.identity import resident_id

VILLAGE = Place(county_code="622925", township_code="622925100", village_code="622925100201")


def unit_leader(
    cadre_id: str, gender: Gender = Gender.male, born: date = date(1975, 1, 1), name: str = "李明"
) -> RegisterCadre:
    """A 乡科级正职 unit leader linked with VILLAGE."""
    return RegisterCadre(
        cadre_id=cadre_id,
        name=name,
        gender=gender,
        birth_date=born,
        unit_id="u-1",
        unit_name="县民政局",
        rank=Rank(tier=RankTier.township, title=RankTitle.principal),
        party_member=True,
        kind=CadreKind.unit_leader,
        links=Links(village_codes=(VILLAGE.village_code,)),
    )


def number(born: date, serial: int) -> str:
    """A valid resident ID number of 和政县 for a man born on `born`."""
    return resident_id(VILLAGE.county_code, born, False, serial)


def orphan(subject_id: str, born: date = date(2015, 1, 1), serial: int = 11) -> RegisterSubject:
    """A boy orphan living in VILLAGE, a household of his own."""
    return RegisterSubject(
        subject_id=subject_id,
        household_id=f"h-{subject_id}",
        name="马小军",
        gender=Gender.male,
        birth_date=born,
        id_number=number(born, serial),
        residence=VILLAGE,
        category="orphan",
        orphan_type=OrphanType.orphan,
        care_setting=CareSetting.scattered,
    )
