"""People the pairing tests share: a village and a unit leader linked with it (contracts only)."""

from __future__ import annotations

from datetime import date

from shared.contracts.pairing import CadreRegistered
from shared.contracts.people import CadreKind, Gender, Links, Place, Rank, RankTier, RankTitle

VILLAGE = Place(county_code="622925", township_code="622925100", village_code="622925100201")


def unit_leader(
    cadre_id: str, gender: Gender = Gender.male, born: date = date(1975, 1, 1), name: str = "李明"
) -> CadreRegistered:
    """A 乡科级正职 unit leader linked with VILLAGE."""
    return CadreRegistered(
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
