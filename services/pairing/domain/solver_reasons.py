"""The Chinese texts of `solver.suggest`: why this cadre, and why nobody.

`explain` says why a placed subject got its cadre. `why_unplaced` says why a household could
not be placed: the rules that excluded its candidates.
Every cadre linked with a member's place (村, 乡镇, or the 乡镇 of a resident village cadre) is a
candidate; each is checked against every member as if it were free, with the plan's answer to
"is a woman still free for this girl". The refusals are then summed up per rule, in Chinese,
and being taken already is reported on its own ("所有可结对的干部都已结对").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from services.pairing.domain.eligibility import full_years
from services.pairing.domain.rank import describe
from services.pairing.domain.refusals import Refusal
from services.pairing.domain.rules import (
    MALE_CADRE_MIN_YEARS_OLDER,
    CadreView,
    PairingContext,
    SubjectView,
    check_pairing,
)
from shared.contracts.people import CadreKind, Gender, SubjectCategory

NO_CADRE_FOR_PLACE = "no_cadre_for_place"
ALL_CADRES_TAKEN = "all_cadres_taken"
NOT_ARRANGED = "not_arranged"  # a free cadre would do: never expected, reported rather than hidden

_ORDER = (
    "household_has_other_cadre",
    "cadre_unavailable",
    "unit_not_placed",
    "resident_village_missing",
    "outside_linked_area",
    "outside_linked_villages",
    "outside_resident_township",
    "leader_orphans_only",
    "unit_cadre_not_eligible",
    "household_needs_leader",
    "girl_needs_female_cadre",
    "male_cadre_age_gap",
)
_BY_GIRL = {"girl_needs_female_cadre", "male_cadre_age_gap"}

_SUMMARIES = {
    "cadre_unavailable": "{k}名候选干部已退休离岗或调离，不能新建结对",
    "outside_linked_area": "关爱对象常住地不在{k}名候选干部所联系的乡镇或村",
    "outside_linked_villages": "关爱对象常住地不在{k}名候选干部单位所联系的帮扶村",
    "outside_resident_township": "{k}名驻村帮扶干部所驻村不在关爱对象常住的乡镇",
    "leader_orphans_only": "{k}名省州县领导干部或省州帮扶单位干部只与孤儿结对",
    "unit_cadre_not_eligible": "{k}名择优补充的干部不是科级以下党员干部",
}

Pair = tuple[SubjectView, CadreView]
Ids = tuple[str, str]  # (subject_id, cadre_id)
T = TypeVar("T")

_KIND_REASONS = {
    CadreKind.unit_cadre: "所联系村的领导干部不足，从科级以下党员干部中择优补充",
    CadreKind.resident_village_cadre: "驻村帮扶干部结对所驻村所在乡镇的关爱对象",
    CadreKind.partner_unit_cadre: "省州帮扶单位干部结对所联系乡村的孤儿",
    CadreKind.unit_leader: "所在单位联系该村",
    CadreKind.county_leader: "县级领导干部结对所联系乡镇的孤儿",
    CadreKind.prefecture_leader: "州级领导干部结对所联系乡镇的孤儿",
    CadreKind.province_leader: "省级领导干部结对所联系乡镇的孤儿",
}


def is_girl(subject: SubjectView) -> bool:
    """A female orphan: the subjects the gender rule is for."""
    return subject.category is SubjectCategory.orphan and subject.gender is Gender.female


def explain(subject: SubjectView, members: Sequence[SubjectView], cadre: CadreView, own_cadre: bool) -> str:
    """Why `cadre` for `subject` of a household of `members`, e.g. "领导干部优先；女性干部结对女性孤儿"."""
    parts = []
    if own_cadre:
        parts.append("同户关爱对象已由该干部结对，一户由1名干部结对")
    parts.append("领导干部优先" if cadre.is_leader else _KIND_REASONS[cadre.kind])
    if is_girl(subject):
        if cadre.gender is Gender.female:
            parts.append("女性干部结对女性孤儿")
        else:
            years = full_years(cadre.birth_date, subject.birth_date)
            parts.append(
                f"没有可结对的女性干部，男性干部年龄相差{years}周岁（{MALE_CADRE_MIN_YEARS_OLDER}周岁以上）"
            )
    if len(members) > 1:
        parts.append(f"职务较高（{describe(cadre.rank)}）结对多名关爱对象的家庭（{len(members)}名）")
    if subject.residence.outside_province:
        parts.append("常住地在省外，由户籍地干部结对")
    elif subject.residence != subject.registered:
        parts.append("由常住地干部结对")
    return "；".join(parts)


def why_unplaced(
    members: Sequence[SubjectView],
    candidates: Sequence[CadreView],
    *,
    context_for: Callable[[SubjectView, CadreView], PairingContext],
    taken: Callable[[CadreView], bool],
    household_cadre_id: str | None,
    cadre_names: Mapping[str, str],
    verdicts: Verdicts | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(reasons, codes), one code per reason, for a household that no candidate could take.

    `verdicts`, shared by the households of one plan, keeps the rules' answers: a township's
    cadres are checked against each of its unplaced households, and households of one village
    and shape get the same answers. A kept refusal may carry another subject's id and name; the
    reasons use only its code and strength, and check the pair again for the one message they
    quote."""
    if not candidates:
        return ("没有联系该村的干部",), (NO_CADRE_FOR_PLACE,)
    # keyed by the people's ids: hashing the views (and their pydantic places) costs more than
    # the checks themselves once a township has hundreds of candidates
    refused: dict[Ids, list[Refusal]] = {}
    by_code: dict[str, list[Pair]] = defaultdict(list)
    clear_taken: list[CadreView] = []
    clear_free: list[CadreView] = []
    for cadre in candidates:
        clear = True
        for subject in members:
            refusals = (verdicts or Verdicts()).check(subject, cadre, context_for(subject, cadre))
            refused[subject.subject_id, cadre.cadre_id] = refusals
            for r in refusals:
                by_code[r.code].append((subject, cadre))
            clear = clear and not refusals
        if clear:
            (clear_taken if taken(cadre) else clear_free).append(cadre)

    reasons: list[tuple[str, str]] = []
    if clear_taken:
        reasons.append((f"所有可结对的干部都已结对（共{len(clear_taken)}名）", ALL_CADRES_TAKEN))
    if clear_free:
        names = "、".join(c.name for c in clear_free)
        reasons.append((f"干部{names}可以结对，但未能安排", NOT_ARRANGED))
    for code in sorted(by_code, key=lambda c: (_ORDER.index(c) if c in _ORDER else len(_ORDER), c)):
        pairs = by_code[code]
        if code in _BY_GIRL:
            for girl in _distinct((s for s, _ in pairs), _subject_id):
                men = _distinct((c for s, c in pairs if s.subject_id == girl.subject_id), _cadre_id)
                reasons.append((_about_girl(code, girl, men, candidates, refused), code))
        else:
            reasons.append(
                (_summary(code, pairs, members, household_cadre_id, cadre_names, context_for), code)
            )
    return tuple(r for r, _ in reasons), tuple(c for _, c in reasons)


def _summary(
    code: str,
    pairs: list[Pair],
    members: Sequence[SubjectView],
    household_cadre_id: str | None,
    cadre_names: Mapping[str, str],
    context_for: Callable[[SubjectView, CadreView], PairingContext],
) -> str:
    k = len({c.cadre_id for _, c in pairs})
    if code in _SUMMARIES:
        return _SUMMARIES[code].format(k=k)
    if code == "household_has_other_cadre":
        holder = household_cadre_id or ""
        if holder in cadre_names:
            name = cadre_names[holder]
            return f"该户已由干部{name}结对：一户原则上由1名干部结对，其他{k}名候选干部不能结对"
        return f"该户已由不在候选名单中的干部（{holder}）结对：一户原则上由1名干部结对"
    if code == "household_needs_leader":
        return (
            f"一户有{len(members)}名关爱对象，原则上安排1名职务较高的领导干部结对，{k}名候选干部不是领导干部"
        )
    subject, cadre = pairs[0]
    return next(
        r.message for r in check_pairing(subject, cadre, context_for(subject, cadre)) if r.code == code
    )


def _about_girl(
    code: str,
    girl: SubjectView,
    men: list[CadreView],
    candidates: Sequence[CadreView],
    refused: Mapping[Ids, list[Refusal]],
) -> str:
    if code == "girl_needs_female_cadre":
        return f"女性孤儿{girl.name}原则上由女性干部结对，仍有可结对的女性干部，{len(men)}名男性干部不能结对"
    gap = f"年龄相差不足{MALE_CADRE_MIN_YEARS_OLDER}周岁"
    if len(men) > 1:
        return f"{len(men)}名候选男性干部与女性孤儿{girl.name}{gap}"
    [man] = men
    years = max(full_years(man.birth_date, girl.birth_date), 0)
    allowed_men = [
        c
        for c in candidates
        if c.gender is Gender.male and all(r.overridable for r in refused[girl.subject_id, c.cadre_id])
    ]
    only = "唯一的" if len(allowed_men) == 1 else ""
    return f"{only}候选男性干部{man.name}与女性孤儿{girl.name}{gap}（相差{years}周岁）"


class Verdicts:
    """`check_pairing`'s answers kept under what the rules read of a pair (`_verdict_key`), for
    the codes and strengths only: a kept refusal may name another subject of the same key."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, list[Refusal]] = {}

    def check(self, subject: SubjectView, cadre: CadreView, context: PairingContext) -> list[Refusal]:
        key = _verdict_key(subject, cadre, context)
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = check_pairing(subject, cadre, context)
        return found


def _verdict_key(subject: SubjectView, cadre: CadreView, context: PairingContext) -> Hashable:
    """What `check_pairing` reads of the pair to decide its codes, but the subject's id, name and
    household: two pairs with one key get the same codes and strengths. The subject's gender
    counts only as being a girl orphan, and her birth date only with a man (the age gap); the
    household only as having several subjects; the household id only when the cadre holds one
    (`cadre_already_paired`). Guarded by a test against checking every pair."""
    place = subject.responsible_place
    girl = is_girl(subject)
    return (
        cadre.cadre_id,
        subject.category,
        girl,
        place.village_code,
        place.township_code,
        subject.birth_date if girl and cadre.gender is not Gender.female else None,
        context.female_cadre_available if girl else None,
        len(context.household) > 1,
        context.household_cadre_id,
        context.subject_cadre_id,
        (context.cadre_household_id, subject.household_id) if context.cadre_household_id else None,
    )


def _distinct(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """The items in their first order, each once (by `key`, an id)."""
    first: dict[str, T] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


def _subject_id(subject: SubjectView) -> str:
    return subject.subject_id


def _cadre_id(cadre: CadreView) -> str:
    return cadre.cadre_id
