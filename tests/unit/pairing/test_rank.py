"""职务职级: a partial order where posts and grades at one level are incomparable."""

import pytest

from services.pairing.domain.rank import (
    Comparison,
    InvalidRank,
    check_rank,
    compare,
    describe,
    is_higher,
    seniority_key,
)
from shared.contracts.people import Rank, RankTier, RankTitle

T, R = RankTier, RankTitle


def rank(tier: RankTier, title: RankTitle) -> Rank:
    return check_rank(Rank(tier=tier, title=title))


def test_a_higher_tier_is_higher_whatever_the_title() -> None:
    assert is_higher(rank(T.county, R.deputy), rank(T.township, R.principal))
    assert is_higher(rank(T.departmental, R.inspector_2), rank(T.county, R.principal))


def test_principal_is_higher_than_deputy_in_one_tier() -> None:
    assert compare(rank(T.county, R.principal), rank(T.county, R.deputy)) is Comparison.HIGHER


def test_a_grade_sits_at_its_equivalent_level() -> None:
    # 一级调研员 is equivalent to 县处级正职, so above 县处级副职; 三级调研员 is not.
    assert is_higher(rank(T.county, R.researcher_1), rank(T.county, R.deputy))
    assert compare(rank(T.county, R.researcher_3), rank(T.county, R.deputy)) is Comparison.INCOMPARABLE


def test_a_post_and_a_grade_at_one_level_are_incomparable() -> None:
    assert compare(rank(T.county, R.principal), rank(T.county, R.researcher_1)) is Comparison.INCOMPARABLE
    assert compare(rank(T.township, R.deputy), rank(T.township, R.clerk_chief_4)) is Comparison.INCOMPARABLE


def test_grades_of_one_level_order_by_their_number() -> None:
    assert is_higher(rank(T.county, R.researcher_1), rank(T.county, R.researcher_2))
    assert is_higher(rank(T.below_section, R.clerk_1), rank(T.below_section, R.clerk_2))


def test_the_two_kinds_of_second_inspector_are_equal() -> None:
    assert (
        compare(rank(T.departmental, R.inspector_2_provincial), rank(T.departmental, R.inspector_2))
        is Comparison.EQUAL
    )


def test_sorting_extends_the_partial_order_and_puts_posts_first_at_one_level() -> None:
    ranks = [rank(T.county, R.researcher_1), rank(T.township, R.principal), rank(T.county, R.principal)]
    ordered = sorted(ranks, key=seniority_key, reverse=True)
    assert [describe(r) for r in ordered] == ["县处级正职", "县处级一级调研员", "乡科级正职"]


def test_a_title_annex_3_does_not_offer_in_a_tier_is_refused_in_chinese() -> None:
    with pytest.raises(InvalidRank, match="科级以下没有“正职”"):
        rank(T.below_section, R.principal)
