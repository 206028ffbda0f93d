"""Comparing 职务职级: leadership posts and rank grades form a partial order, not a total one.

Each rank has an *equivalent level*: its tier (省部级 … 科级以下) and, inside the tier, the
principal (正职) or deputy (副职) level. Grades sit at the level the civil-service rules make
them equivalent to: 一级巡视员 at 厅局级正职, 二级巡视员 at 厅局级副职, 一级/二级调研员 at 县处级正职,
三级/四级调研员 at 县处级副职, 一级/二级主任科员 at 乡科级正职, 三级/四级主任科员 at 乡科级副职;
below section level, 一级科员 above 二级科员.

"A is higher than B" when A's equivalent level is higher; at the same level, a principal
post is higher than a deputy post, and a lower-numbered grade is higher than a higher-numbered
one (一调 above 二调). A leadership post and a grade at the same level are **incomparable**
(县处级正职 and 一级调研员 are neither higher nor lower than each other): the household rule
then prefers the leadership post, since the seed asks for a leader (领导干部).
"""

from __future__ import annotations

from enum import Enum

from shared.contracts.people import Rank, RankTier, RankTitle

_TIER_ORDER = {
    RankTier.provincial: 5,
    RankTier.departmental: 4,
    RankTier.county: 3,
    RankTier.township: 2,
    RankTier.below_section: 1,
}

# title -> (level inside the tier: 2 principal-equivalent, 1 deputy-equivalent, order among grades)
_TITLE_LEVEL: dict[RankTitle, tuple[int, int]] = {
    RankTitle.principal: (2, 0),
    RankTitle.deputy: (1, 0),
    RankTitle.inspector_1: (2, 1),
    RankTitle.inspector_2_provincial: (1, 2),  # 省管 says who manages it, not a higher grade
    RankTitle.inspector_2: (1, 2),
    RankTitle.researcher_1: (2, 1),
    RankTitle.researcher_2: (2, 2),
    RankTitle.researcher_3: (1, 3),
    RankTitle.researcher_4: (1, 4),
    RankTitle.clerk_chief_1: (2, 1),
    RankTitle.clerk_chief_2: (2, 2),
    RankTitle.clerk_chief_3: (1, 3),
    RankTitle.clerk_chief_4: (1, 4),
    RankTitle.clerk_1: (2, 1),
    RankTitle.clerk_2: (1, 2),
}

# Which titles annex 3 offers in which tier.
ALLOWED_TITLES: dict[RankTier, frozenset[RankTitle]] = {
    RankTier.provincial: frozenset({RankTitle.principal, RankTitle.deputy}),
    RankTier.departmental: frozenset(
        {
            RankTitle.principal,
            RankTitle.deputy,
            RankTitle.inspector_1,
            RankTitle.inspector_2_provincial,
            RankTitle.inspector_2,
        }
    ),
    RankTier.county: frozenset(
        {
            RankTitle.principal,
            RankTitle.deputy,
            RankTitle.researcher_1,
            RankTitle.researcher_2,
            RankTitle.researcher_3,
            RankTitle.researcher_4,
        }
    ),
    RankTier.township: frozenset(
        {
            RankTitle.principal,
            RankTitle.deputy,
            RankTitle.clerk_chief_1,
            RankTitle.clerk_chief_2,
            RankTitle.clerk_chief_3,
            RankTitle.clerk_chief_4,
        }
    ),
    RankTier.below_section: frozenset({RankTitle.clerk_1, RankTitle.clerk_2}),
}

TIER_NAMES = {
    RankTier.provincial: "省部级",
    RankTier.departmental: "厅局级",
    RankTier.county: "县处级",
    RankTier.township: "乡科级",
    RankTier.below_section: "科级以下",
}

TITLE_NAMES = {
    RankTitle.principal: "正职",
    RankTitle.deputy: "副职",
    RankTitle.inspector_1: "一级巡视员",
    RankTitle.inspector_2_provincial: "省管二级巡视员",
    RankTitle.inspector_2: "二级巡视员",
    RankTitle.researcher_1: "一级调研员",
    RankTitle.researcher_2: "二级调研员",
    RankTitle.researcher_3: "三级调研员",
    RankTitle.researcher_4: "四级调研员",
    RankTitle.clerk_chief_1: "一级主任科员",
    RankTitle.clerk_chief_2: "二级主任科员",
    RankTitle.clerk_chief_3: "三级主任科员",
    RankTitle.clerk_chief_4: "四级主任科员",
    RankTitle.clerk_1: "一级科员",
    RankTitle.clerk_2: "二级科员",
}


class InvalidRank(ValueError):
    """A title that annex 3 does not offer in that tier."""


class Comparison(Enum):
    HIGHER = "higher"
    LOWER = "lower"
    EQUAL = "equal"
    INCOMPARABLE = "incomparable"


def check_rank(rank: Rank) -> Rank:
    if rank.title not in ALLOWED_TITLES[rank.tier]:
        raise InvalidRank(
            f"{TIER_NAMES[rank.tier]}没有“{TITLE_NAMES[rank.title]}”这一职务职级：请按附件3选择"
        )
    return rank


def is_leadership_post(rank: Rank) -> bool:
    """正职 and 副职 are leadership posts (领导职务); every other title is a rank grade (职级)."""
    return rank.title in (RankTitle.principal, RankTitle.deputy)


def level(rank: Rank) -> tuple[int, int]:
    """The equivalent level: (tier, principal 2 / deputy 1)."""
    return _TIER_ORDER[rank.tier], _TITLE_LEVEL[rank.title][0]


def compare(a: Rank, b: Rank) -> Comparison:
    """How `a` stands to `b` in the partial order described in this module's docstring."""
    if a == b:
        return Comparison.EQUAL
    la, lb = level(a), level(b)
    if la != lb:
        return Comparison.HIGHER if la > lb else Comparison.LOWER
    post_a, post_b = is_leadership_post(a), is_leadership_post(b)
    if post_a != post_b:
        return Comparison.INCOMPARABLE
    order_a, order_b = _TITLE_LEVEL[a.title][1], _TITLE_LEVEL[b.title][1]
    if order_a == order_b:
        return Comparison.EQUAL
    return Comparison.HIGHER if order_a < order_b else Comparison.LOWER


def is_higher(a: Rank, b: Rank) -> bool:
    return compare(a, b) is Comparison.HIGHER


def seniority_key(rank: Rank) -> tuple[int, int, int, int]:
    """A total order that extends `compare` (for sorting): at one level, posts before grades."""
    tier, band = level(rank)
    return tier, band, 1 if is_leadership_post(rank) else 0, -_TITLE_LEVEL[rank.title][1]


def describe(rank: Rank) -> str:
    return f"{TIER_NAMES[rank.tier]}{TITLE_NAMES[rank.title]}"
