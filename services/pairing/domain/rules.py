"""Who may be paired with whom (sections 五 and 六 of the plan), as pure checks.

`check_pairing` returns every rule a proposed pairing breaks, each with its code, a Chinese
message naming the people, and whether an operator may override it (rules the plan states
原则上: the gender rule and the household rule) or not (everything else).

Where the subject lives decides: the cadre of the actual residence (常住地) is responsible, not
the one of the registered address (户籍地). A residence outside the province cannot be served
by a cadre here, so the registered place in the province stands in for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.pairing.domain.eligibility import full_years
from services.pairing.domain.rank import describe, is_leadership_post
from services.pairing.domain.refusals import Refusal, Strength
from shared.contracts.people import CadreKind, Gender, Links, Place, Rank, RankTier, SubjectCategory

MALE_CADRE_MIN_YEARS_OLDER = 40

Refuse = Callable[..., None]

ORPHANS_ONLY = frozenset(
    {
        CadreKind.province_leader,
        CadreKind.prefecture_leader,
        CadreKind.county_leader,
        CadreKind.partner_unit_cadre,
    }
)
LEADER_KINDS = frozenset(
    {
        CadreKind.province_leader,
        CadreKind.prefecture_leader,
        CadreKind.county_leader,
        CadreKind.unit_leader,
    }
)


@dataclass(frozen=True)
class SubjectView:
    """What the rules need to know about a subject."""

    subject_id: str
    household_id: str
    name: str
    category: SubjectCategory
    gender: Gender
    birth_date: date
    residence: Place
    registered: Place

    @property
    def responsible_place(self) -> Place:
        return self.registered if self.residence.outside_province else self.residence


@dataclass(frozen=True)
class CadreView:
    """What the rules need to know about a cadre."""

    cadre_id: str
    name: str
    kind: CadreKind
    gender: Gender
    birth_date: date
    rank: Rank
    party_member: bool
    links: Links
    can_take_pairings: bool = True  # false once retired without continuing, or moved away

    @property
    def is_leader(self) -> bool:
        return self.kind in LEADER_KINDS and is_leadership_post(self.rank)


@dataclass(frozen=True)
class PairingContext:
    """What else is true when the pairing is asked for."""

    household: tuple[SubjectView, ...] = ()  # every subject of the subject's household
    subject_cadre_id: str | None = None  # the cadre the subject already has, if any
    cadre_household_id: str | None = None  # the household the cadre already holds, if any
    household_cadre_id: str | None = None  # the cadre another member of the household has
    female_cadre_available: bool = False  # an eligible woman could take this girl instead


def check_pairing(subject: SubjectView, cadre: CadreView, context: PairingContext) -> list[Refusal]:
    """Every rule that pairing `cadre` with `subject` would break; empty when it may go ahead."""
    refusals: list[Refusal] = []
    who = f"关爱对象{subject.name}与结对干部{cadre.name}"

    def refuse(code: str, message: str, strength: Strength = Strength.hard) -> None:
        refusals.append(
            Refusal(code, message, strength, subject_id=subject.subject_id, cadre_id=cadre.cadre_id)
        )

    if not cadre.can_take_pairings:
        refuse("cadre_unavailable", f"结对干部{cadre.name}已退休离岗或调离，不能新建结对")
    if context.subject_cadre_id and context.subject_cadre_id != cadre.cadre_id:
        refuse(
            "subject_already_paired", f"关爱对象{subject.name}已有结对干部：一名关爱对象只能由一名干部结对"
        )
    if context.cadre_household_id and context.cadre_household_id != subject.household_id:
        refuse(
            "cadre_already_paired",
            f"结对干部{cadre.name}已结对其他家庭：一名干部只结对一名关爱对象或同一户的关爱对象",
        )
    _check_kind(subject, cadre, who, refuse)
    _check_household(subject, cadre, context, refuse)
    _check_gender(subject, cadre, context, refuse)
    return refusals


def _check_kind(subject: SubjectView, cadre: CadreView, who: str, refuse: Refuse) -> None:
    place = subject.responsible_place
    links = cadre.links
    if cadre.kind in ORPHANS_ONLY and subject.category is not SubjectCategory.orphan:
        refuse(
            "leader_orphans_only", f"{who}：省州县领导干部和省州帮扶单位干部只与孤儿（事实无人抚养儿童）结对"
        )
    if cadre.kind is CadreKind.resident_village_cadre:
        if not links.resident_township_code:
            refuse("resident_village_missing", f"驻村帮扶干部{cadre.name}未登记驻村所在乡镇")
        elif place.township_code != links.resident_township_code:
            refuse("outside_resident_township", f"{who}：驻村帮扶干部只与所驻村所在乡镇范围内的关爱对象结对")
        return
    if cadre.kind is CadreKind.unit_cadre and not (
        cadre.party_member and cadre.rank.tier is RankTier.below_section
    ):
        refuse(
            "unit_cadre_not_eligible",
            f"结对干部{cadre.name}（{describe(cadre.rank)}）：择优补充的须为科级以下党员干部",
        )
    if not links.township_codes and not links.village_codes:
        refuse(
            "unit_not_placed",
            f"结对干部{cadre.name}所在单位没有联系的乡镇或村：须由县结对关爱领导小组办公室统筹安排后再结对",
        )
        return
    in_village = place.village_code in links.village_codes
    in_township = place.township_code in links.township_codes
    if cadre.kind in ORPHANS_ONLY:
        if not (in_village or in_township):
            refuse("outside_linked_area", f"{who}：关爱对象常住地不在该干部所联系的乡镇或村")
    elif not in_village:
        refuse("outside_linked_villages", f"{who}：关爱对象常住地不在该干部单位所联系的帮扶村")


def _check_household(subject: SubjectView, cadre: CadreView, context: PairingContext, refuse: Refuse) -> None:
    if context.household_cadre_id and context.household_cadre_id != cadre.cadre_id:
        refuse(
            "household_has_other_cadre",
            f"关爱对象{subject.name}的家庭已由其他干部结对：一户原则上由1名干部结对",
            Strength.in_principle,
        )
    if len(context.household) > 1 and not cadre.is_leader:
        refuse(
            "household_needs_leader",
            f"关爱对象{subject.name}一户有{len(context.household)}名关爱对象：原则上安排1名职务较高的领导干部结对，"
            f"{cadre.name}不是领导干部",
            Strength.in_principle,
        )


def _check_gender(subject: SubjectView, cadre: CadreView, context: PairingContext, refuse: Refuse) -> None:
    girl = subject.category is SubjectCategory.orphan and subject.gender is Gender.female
    if not girl or cadre.gender is Gender.female:
        return
    if context.female_cadre_available:
        refuse(
            "girl_needs_female_cadre",
            f"女性孤儿{subject.name}原则上由女性干部结对，仍有可结对的女性干部",
            Strength.in_principle,
        )
        return
    years = full_years(cadre.birth_date, subject.birth_date)
    if years < MALE_CADRE_MIN_YEARS_OLDER:
        refuse(
            "male_cadre_age_gap",
            f"女性孤儿{subject.name}由男性干部{cadre.name}结对时，年龄须相差{MALE_CADRE_MIN_YEARS_OLDER}周岁以上"
            f"（现相差{max(years, 0)}周岁）",
            Strength.in_principle,
        )
