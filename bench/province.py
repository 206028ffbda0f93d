"""A generated province: synthetic people who look like the programme's, on Gansu's real places.

Every person lives in a real village of the shipped division data (`shared.divisions`), carries
a valid resident ID number on their county's code, and has the facts their category needs to
be eligible. Households hold one to three subjects. The output is a pure function of the scale
and the seed.

Three scales:

| scale | places | subjects |
|---|---|---|
| county | 和政县 (622925), the county of the programme's plan | 5,000 |
| city | 临夏回族自治州 (6229) | 50,000 |
| province | 甘肃省 (62) | 267,000 |

The shares of the three categories are an assumption of this generator, not a published
figure. Severely disabled people and people in extreme poverty are most subjects, and orphans
are a few in a hundred (`SHARES`).

Cadres work in units of the counties: a township's government, linked with its township, or a
county department, linked with a few villages (乡村振兴联系点). Their kinds and ranks follow
section 六 of the plan and annex 3. County leaders hold the county tier. Unit leaders hold the
township tier. Unit cadres are party members below it. Resident village cadres live in a
village of their county. Partner units' cadres come from the departmental or county tier.
Prefecture leaders appear from the city scale up, and province leaders at the province scale.
The shares of the kinds are assumptions too (`KINDS`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from stdnum.cn import ric

from services.pairing.domain.commands import RegisterCadre, RegisterSubject
from shared.contracts.people import (
    Address,
    CadreKind,
    CareSetting,
    Dibao,
    DisabilityType,
    Gender,
    Links,
    OrphanType,
    ParentSituation,
    Place,
    Rank,
    RankTier,
    RankTitle,
    Residence,
    SelfCare,
    SubjectCategory,
    Tekun,
)
from shared.divisions import Level, divisions
from shared.resident_id import resident_id


@dataclass(frozen=True)
class Scale:
    name: str
    places: tuple[str, ...]  # the divisions whose villages people live in
    subjects: int
    cadres: int


SCALES = {
    "county": Scale("county", ("622925",), 5_000, 5_000),
    "city": Scale("city", ("6229",), 50_000, 50_000),
    "province": Scale("province", ("62",), 267_000, 251_000),
}

SHARES = {
    SubjectCategory.orphan: 0.05,
    SubjectCategory.severely_disabled: 0.55,
    SubjectCategory.extreme_poverty: 0.40,
}

# Common surnames of Gansu, 马 (frequent among the Hui of Linxia) given more weight.
SURNAMES = "王李张刘陈杨马赵黄周吴徐孙胡朱高林何郭罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN = "小明华军丽娟芳强伟建国秀英兰梅红霞玉海龙涛杰文斌静燕春花福德成志刚平安生桂珍凤荣"


@cache
def villages(places: tuple[str, ...]) -> tuple[str, ...]:
    """Every village under the places, on a county whose code an ID number may carry."""
    gansu = divisions("62")
    found = []
    for village in gansu.at(Level.village):
        county = village.code[:6]
        if any(village.code.startswith(p) for p in places) and _issuing(county):
            found.append(village.code)
    if not found:
        raise ValueError(f"no village under {', '.join(places)} in the division data")
    return tuple(found)


@cache
def _issuing(county: str) -> bool:
    """Whether resident ID numbers are issued on this county's code (not on a statistical area's)."""
    try:
        return bool(ric.is_valid(resident_id(county, date(2000, 1, 1), 1)))
    except KeyError:  # stdnum knows the code only as a city's own (嘉峪关市 620201)
        return False


def _name(rng: random.Random) -> str:
    surname = "马" if rng.random() < 0.15 else rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


class _Numbers:
    """Resident ID numbers, each used once: the sequence differs for one county and birth date."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, date], set[int]] = {}

    def of(self, county: str, born: date, gender: Gender, rng: random.Random) -> str:
        used = self._used.setdefault((county, born), set())
        odd = gender is Gender.male
        for _ in range(1000):
            sequence = rng.randrange(0, 499) * 2 + (1 if odd else 0)
            if sequence not in used:
                used.add(sequence)
                return resident_id(county, born, sequence)
        raise ValueError(f"no sequence left for {county} on {born}")


def _born(rng: random.Random, today: date, youngest: int, oldest: int) -> date:
    days = rng.randrange(youngest * 365 + 1, oldest * 365)
    return today - timedelta(days=days)


def _facts(category: SubjectCategory, rng: random.Random, today: date) -> dict[str, object]:
    """The facts a subject of `category` must have to be eligible, and the birth date that fits."""
    if category is SubjectCategory.orphan:
        de_facto = rng.random() < 0.4
        return {
            "birth_date": _born(rng, today, 1, 17),
            "orphan_type": OrphanType.de_facto_orphan if de_facto else OrphanType.orphan,
            "parents_situation": (rng.choice(list(ParentSituation)),) if de_facto else (),
            "care_setting": CareSetting.scattered,
        }
    if category is SubjectCategory.severely_disabled:
        kind = rng.choice(list(DisabilityType))
        return {
            "birth_date": _born(rng, today, 5, 90),
            "disability_types": (kind,),
            "disability_level": rng.choice((1, 2)),
            "disability_certificate": f"6229{rng.randrange(10**15, 10**16)}",
            "dibao": Dibao(area=Residence.rural, grade=rng.randrange(1, 5)),
            "self_care": rng.choice(list(SelfCare)),
        }
    return {
        "birth_date": _born(rng, today, 20, 95),
        "tekun": Tekun(area=Residence.rural, setting=CareSetting.scattered),
        "self_care": rng.choice(list(SelfCare)),
    }


def subjects(scale: Scale, seed: int, today: date, count: int | None = None) -> Iterator[RegisterSubject]:
    """The scale's subjects (or the first `count`), in households of one to three, from `seed`."""
    rng = random.Random(seed)
    homes = villages(scale.places)
    gansu = divisions("62")
    numbers = _Numbers()
    categories, weights = zip(*SHARES.items(), strict=True)
    total = scale.subjects if count is None else count
    made = household = 0
    while made < total:
        household += 1
        village = rng.choice(homes)
        place = Place(county_code=village[:6], township_code=village[:9], village_code=village)
        names = [d.name for d in gansu.path(village)]
        address = Address(
            province=names[0], prefecture=names[1], county=names[2], township=names[3], village=names[4]
        )
        category = rng.choices(categories, weights)[0]
        members = min(total - made, rng.choice((1, 1, 1, 2, 2, 3)))
        for _ in range(members):
            made += 1
            facts = _facts(category, rng, today)
            gender = rng.choice((Gender.male, Gender.female))
            born = facts["birth_date"]
            assert isinstance(born, date)
            yield RegisterSubject(
                subject_id=f"s-{seed}-{made}",
                household_id=f"h-{seed}-{household}",
                name=_name(rng),
                gender=gender,
                id_number=numbers.of(place.county_code, born, gender, rng),
                phone=f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
                registered_address=address,
                residence_address=address,
                registered_place=place,
                residence=place,
                category=category,
                **facts,  # type: ignore[arg-type]
            )


KINDS = {
    CadreKind.county_leader: 0.02,
    CadreKind.partner_unit_cadre: 0.03,
    CadreKind.unit_leader: 0.35,
    CadreKind.unit_cadre: 0.50,
    CadreKind.resident_village_cadre: 0.10,
}
DEPARTMENTS = (
    "县民政局", "县教育局", "县卫生健康局", "县农业农村局", "县人社局", "县财政局", "县残联", "县妇联"
)
PARTNERS = ("省民政厅", "州民政局", "省交通运输厅", "州教育局")


@dataclass(frozen=True)
class _Unit:
    unit_id: str
    name: str
    links: Links
    county: str


def _units(places: tuple[str, ...]) -> list[_Unit]:
    """Each county's township governments and departments, with the places they are linked with."""
    gansu = divisions("62")
    homes = villages(places)
    counties = sorted({v[:6] for v in homes})
    units: list[_Unit] = []
    for county in counties:
        townships = sorted({v[:9] for v in homes if v.startswith(county)})
        for township in townships:
            name = f"{gansu.name(township)}人民政府"
            units.append(_Unit(f"u-{township}", name, Links(township_codes=(township,)), county))
        in_county = [v for v in homes if v.startswith(county)]
        for index, department in enumerate(DEPARTMENTS):
            linked = tuple(in_county[(index * 7 + k * 13) % len(in_county)] for k in range(3))
            units.append(_Unit(f"u-{county}-{index}", department, Links(village_codes=linked), county))
    return units


def _rank(kind: CadreKind, rng: random.Random) -> Rank:
    tier, titles = {
        CadreKind.province_leader: (RankTier.provincial, (RankTitle.principal, RankTitle.deputy)),
        CadreKind.prefecture_leader: (RankTier.departmental, (RankTitle.principal, RankTitle.deputy)),
        CadreKind.county_leader: (RankTier.county, (RankTitle.principal, RankTitle.deputy)),
        CadreKind.partner_unit_cadre: (RankTier.county, (RankTitle.researcher_3, RankTitle.researcher_4)),
        CadreKind.unit_leader: (RankTier.township, (RankTitle.principal, RankTitle.deputy)),
        CadreKind.unit_cadre: (RankTier.below_section, (RankTitle.clerk_1, RankTitle.clerk_2)),
        CadreKind.resident_village_cadre: (
            RankTier.township,
            (RankTitle.clerk_chief_3, RankTitle.clerk_chief_4),
        ),
    }[kind]
    return Rank(tier=tier, title=rng.choice(titles))


def cadres(scale: Scale, seed: int, today: date, count: int | None = None) -> Iterator[RegisterCadre]:
    """The scale's cadres (or the first `count`), in the units of its counties, from `seed`."""
    rng = random.Random(seed * 7919 + 1)
    units = _units(scale.places)
    homes = villages(scale.places)
    kinds = dict(KINDS)
    if scale.name in ("city", "province"):
        kinds[CadreKind.prefecture_leader] = 0.002
    if scale.name == "province":
        kinds[CadreKind.province_leader] = 0.0002
    choices, weights = zip(*kinds.items(), strict=True)
    total = scale.cadres if count is None else count
    for made in range(1, total + 1):
        kind = rng.choices(choices, weights)[0]
        unit = rng.choice(units)
        name, links = unit.name, unit.links
        if kind is CadreKind.partner_unit_cadre:
            name = rng.choice(PARTNERS)
        if kind is CadreKind.resident_village_cadre:
            village = rng.choice([v for v in homes if v.startswith(unit.county)] or list(homes))
            links = Links(resident_village_code=village, resident_township_code=village[:9])
        yield RegisterCadre(
            cadre_id=f"c-{seed}-{made}",
            name=_name(rng),
            gender=rng.choice((Gender.male, Gender.male, Gender.female)),
            birth_date=_born(rng, today, 25, 59),
            phone=f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
            unit_id=unit.unit_id if kind is not CadreKind.partner_unit_cadre else f"u-partner-{name}",
            unit_name=name,
            rank=_rank(kind, rng),
            party_member=kind is CadreKind.unit_cadre or rng.random() < 0.8,
            kind=kind,
            links=links,
        )
