"""Who is a 关爱对象 (section 二 of the plan), with a reason in Chinese when someone is not.

- 孤儿: scattered (社会散居) orphans and de-facto orphans; institution-raised ones only without a
  mental or intellectual disability (机构养育的非精神和智力类残疾孤儿、事实无人抚养儿童); under 18.
- 困难重度残疾人: holds a 残疾人证, level 1 or 2, on 低保, not in institutional care.
- 特困: 特困人员 supported at home (分散供养), not in concentrated support.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.pairing.domain.refusals import Refusal
from shared.contracts.people import (
    CareSetting,
    Dibao,
    DisabilityType,
    OrphanType,
    ParentSituation,
    SubjectCategory,
    Tekun,
)

ADULT_AGE = 18

Refuse = Callable[[str, str], None]


@dataclass(frozen=True)
class EligibilityFacts:
    """The facts that decide eligibility; taken from a registration or a changed situation."""

    category: SubjectCategory
    birth_date: date
    orphan_type: OrphanType | None = None
    parents_situation: tuple[ParentSituation, ...] = ()
    care_setting: CareSetting | None = None
    disability_types: tuple[DisabilityType, ...] = ()
    disability_level: int | None = None
    disability_certificate: str = ""
    dibao: Dibao | None = None
    tekun: Tekun | None = None
    alive: bool = True


def full_years(born: date, on: date) -> int:
    """Completed years of age on a day (a birthday counts on the day itself; 29 Feb on 1 Mar)."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def check_eligibility(facts: EligibilityFacts, today: date, subject_id: str | None = None) -> list[Refusal]:
    """Every reason this person is not a 关爱对象 today; an empty list means eligible."""
    refusals: list[Refusal] = []

    def refuse(code: str, message: str) -> None:
        refusals.append(Refusal(code, message, subject_id=subject_id))

    if not facts.alive:
        refuse("subject_deceased", "关爱对象已去世，不能登记或结对")
    if facts.birth_date > today:
        refuse("birth_date_in_future", f"出生日期 {facts.birth_date.isoformat()} 晚于今天")
    if facts.category is SubjectCategory.orphan:
        _check_orphan(facts, today, refuse)
    elif facts.category is SubjectCategory.severely_disabled:
        _check_disabled(facts, refuse)
    else:
        _check_extreme_poverty(facts, refuse)
    return refusals


def _check_orphan(facts: EligibilityFacts, today: date, refuse: Refuse) -> None:
    if facts.orphan_type is None:
        refuse("orphan_type_missing", "请选择孤儿或事实无人抚养儿童")
    if facts.orphan_type is OrphanType.de_facto_orphan and not facts.parents_situation:
        refuse("parents_situation_missing", "事实无人抚养儿童须填写父母的情况（如重残、重病、服刑、失联等）")
    if full_years(facts.birth_date, today) >= ADULT_AGE:
        refuse("orphan_adult", f"已年满{ADULT_AGE}周岁，不再属于孤儿（事实无人抚养儿童）关爱对象")
    if facts.care_setting is None:
        refuse("care_setting_missing", "请选择养育方式：机构养育或社会散居")
    elif facts.care_setting is CareSetting.institution:
        excluded = {DisabilityType.mental, DisabilityType.intellectual} & set(facts.disability_types)
        if excluded:
            refuse(
                "institution_orphan_mental_or_intellectual",
                "机构养育的精神和智力类残疾孤儿（事实无人抚养儿童）不属于结对关爱对象",
            )


def _check_disabled(facts: EligibilityFacts, refuse: Refuse) -> None:
    if not facts.disability_certificate.strip():
        refuse(
            "no_disability_certificate",
            "困难重度残疾人须持有《中华人民共和国残疾人证》：请填写残疾人证号",
        )
    if facts.disability_level not in (1, 2):
        level = f"{facts.disability_level}级" if facts.disability_level else "未填写"
        refuse("disability_level_not_severe", f"残疾等级为{level}：困难重度残疾人须为一级或二级残疾")
    if facts.dibao is None:
        refuse("not_on_dibao", "困难重度残疾人须纳入最低生活保障（低保）")
    if facts.care_setting is CareSetting.institution:
        refuse("disabled_in_institution", "在机构接受治疗和服务的残疾人不属于结对关爱对象")


def _check_extreme_poverty(facts: EligibilityFacts, refuse: Refuse) -> None:
    if facts.tekun is None:
        refuse("not_tekun", "特困家庭须为已认定的特困人员：请填写特困供养情况")
    elif facts.tekun.setting is CareSetting.institution:
        refuse("tekun_concentrated", "集中供养的特困人员不属于结对关爱对象：仅分散供养的特困人员家庭结对")
