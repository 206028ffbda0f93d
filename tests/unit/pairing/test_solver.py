"""Suggested pairings: valid under check_pairing, households kept together, leaders and women first."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.pairing.domain.rank import ALLOWED_TITLES
from services.pairing.domain.rules import CadreView, PairingContext, SubjectView, check_pairing
from services.pairing.domain.solver import is_girl, suggest
from shared.contracts.people import (
    CadreKind,
    Gender,
    Links,
    Place,
    Rank,
    RankTier,
    RankTitle,
    SubjectCategory,
)

TOWNSHIP = "622925100"
VILLAGE = Place(county_code="622925", township_code=TOWNSHIP, village_code="622925100201")
NEIGHBOUR = Place(county_code="622925", township_code=TOWNSHIP, village_code="622925100202")
ELSEWHERE = Place(county_code="622925", township_code="622925101", village_code="622925101203")

COUNTY_PRINCIPAL = Rank(tier=RankTier.county, title=RankTitle.principal)
COUNTY_DEPUTY = Rank(tier=RankTier.county, title=RankTitle.deputy)
TOWNSHIP_PRINCIPAL = Rank(tier=RankTier.township, title=RankTitle.principal)
TOWNSHIP_DEPUTY = Rank(tier=RankTier.township, title=RankTitle.deputy)
CLERK = Rank(tier=RankTier.below_section, title=RankTitle.clerk_1)

# -- builders -----------------------------------------------------------------------------------


def subject(subject_id: str, household_id: str | None = None, **changes: object) -> SubjectView:
    values: dict = dict(
        subject_id=subject_id,
        household_id=household_id or f"h-{subject_id}",
        name=f"马{subject_id}",
        category=SubjectCategory.severely_disabled,
        gender=Gender.male,
        birth_date=date(1970, 1, 1),
        residence=VILLAGE,
        registered=VILLAGE,
    )
    values.update(changes)
    return SubjectView(**values)


def girl(subject_id: str, household_id: str | None = None, **changes: object) -> SubjectView:
    values: dict = dict(category=SubjectCategory.orphan, gender=Gender.female, birth_date=date(2014, 5, 17))
    values.update(changes)
    return subject(subject_id, household_id, **values)


def cadre(cadre_id: str, **changes: object) -> CadreView:
    values: dict = dict(
        cadre_id=cadre_id,
        name=f"李{cadre_id}",
        kind=CadreKind.unit_leader,
        gender=Gender.male,
        birth_date=date(1980, 1, 1),
        rank=TOWNSHIP_PRINCIPAL,
        party_member=True,
        links=Links(village_codes=(VILLAGE.village_code,)),
    )
    values.update(changes)
    return CadreView(**values)


def woman(cadre_id: str, **changes: object) -> CadreView:
    return cadre(cadre_id, **{"gender": Gender.female, **changes})


def top_up(cadre_id: str, **changes: object) -> CadreView:
    return cadre(cadre_id, **{"kind": CadreKind.unit_cadre, "rank": CLERK, **changes})


# -- what every answer must satisfy -------------------------------------------------------------


class Plan:
    """The instance and the solver's answer, checked independently of the solver's bookkeeping."""

    def __init__(
        self,
        subjects: Sequence[SubjectView],
        cadres: Sequence[CadreView],
        held: Mapping[str, str] | None = None,
        paired: Mapping[str, str] | None = None,
    ) -> None:
        self.cadres = list(cadres)
        self.held, self.paired = dict(held or {}), dict(paired or {})
        self.result = suggest(subjects, cadres, held=self.held, paired_households=self.paired)
        self.subject = {s.subject_id: s for s in subjects}
        self.cadre = {c.cadre_id: c for c in cadres}
        self.household: dict[str, tuple[SubjectView, ...]] = defaultdict(tuple)
        for s in sorted(subjects, key=lambda s: s.subject_id):
            self.household[s.household_id] += (s,)

    @property
    def placed(self) -> dict[str, str]:
        return {p.subject_id: p.cadre_id for p in self.result.placed}

    @property
    def unplaced(self) -> dict[str, tuple[str, ...]]:
        return {u.subject_id: u.reasons for u in self.result.unplaced}

    def codes(self, subject_id: str) -> tuple[str, ...]:
        return next(u.codes for u in self.result.unplaced if u.subject_id == subject_id)

    def holder(self, household_id: str) -> str | None:
        if household_id in self.paired:
            return self.paired[household_id]
        return min((c for c, h in self.held.items() if h == household_id), default=None)

    def refusals(
        self, s: SubjectView, c: CadreView, holds: Mapping[str, str], holder: str | None
    ) -> list[str]:
        """check_pairing's codes for s with c, when `holds` says which cadre holds which household."""
        female = is_girl(s) and any(
            w.gender is Gender.female
            and w.cadre_id != c.cadre_id
            and w.cadre_id not in holds
            and all(r.overridable for r in check_pairing(s, w, PairingContext()))
            for w in self.cadres
        )
        context = PairingContext(
            household=self.household[s.household_id],
            cadre_household_id=holds.get(c.cadre_id),
            household_cadre_id=holder,
            female_cadre_available=female,
        )
        return [r.code for r in check_pairing(s, c, context)]

    def holds(self) -> dict[str, str]:
        holds = dict(self.held)
        for p in self.result.placed:
            holds.setdefault(p.cadre_id, p.household_id)
        return holds

    def problems(self) -> list[str]:
        found: list[str] = []
        placed, unplaced = self.result.placed, self.result.unplaced
        reported = [p.subject_id for p in placed] + [u.subject_id for u in unplaced]
        if sorted(reported) != sorted(self.subject):
            found.append("not every subject reported exactly once")
        cadre_of: dict[str, str] = {}
        for p in placed:
            if cadre_of.setdefault(p.household_id, p.cadre_id) != p.cadre_id:
                found.append(f"household {p.household_id} split between cadres")
            if p.overrides_needed or not p.explanation:
                found.append(f"{p.subject_id}: overrides or no explanation")
        holds = dict(self.held)
        for household_id, cadre_id in cadre_of.items():
            if holds.setdefault(cadre_id, household_id) != household_id:
                found.append(f"cadre {cadre_id} takes two households")
        for u in unplaced:
            if self.subject[u.subject_id].household_id in cadre_of:
                found.append(f"{u.subject_id} left out of its placed household")
            if not u.reasons or len(u.reasons) != len(u.codes) or "not_arranged" in u.codes:
                found.append(f"{u.subject_id} has no proper reasons: {u.reasons} {u.codes}")
        # the finished plan
        for p in placed:
            s, c = self.subject[p.subject_id], self.cadre[p.cadre_id]
            if codes := self.refusals(s, c, holds, self.holder(s.household_id) or c.cadre_id):
                found.append(f"{p.subject_id}->{p.cadre_id}: {codes}")
        # the suggestions applied one by one, in their order
        so_far = dict(self.held)
        for p in placed:
            s, c = self.subject[p.subject_id], self.cadre[p.cadre_id]
            first = next((k for k, h in so_far.items() if h == s.household_id), None)
            if codes := self.refusals(s, c, so_far, self.holder(s.household_id) or first):
                found.append(f"in order, {p.subject_id}->{p.cadre_id}: {codes}")
            so_far.setdefault(c.cadre_id, s.household_id)
        return found

    def could_take(self) -> list[str]:
        """Unplaced households that a cadre still free could take, the plan as it stands."""
        holds = self.holds()
        found = []
        for h in sorted(set(self.household) - {p.household_id for p in self.result.placed}):
            for c in self.cadres:
                if holds.get(c.cadre_id, h) != h:
                    continue
                trial = {**holds, c.cadre_id: h}
                holder = self.holder(h) or c.cadre_id
                if not any(self.refusals(s, c, trial, holder) for s in self.household[h]):
                    found.append(f"{h} could take {c.cadre_id}")
        return found


def assert_valid(plan: Plan) -> None:
    assert plan.problems() == []
    assert plan.could_take() == []


# -- random instances ---------------------------------------------------------------------------

PLACES = (VILLAGE, VILLAGE, NEIGHBOUR, ELSEWHERE)
CATEGORIES = (SubjectCategory.orphan, SubjectCategory.orphan, *SubjectCategory)
KINDS = (CadreKind.unit_leader, CadreKind.unit_leader, CadreKind.county_leader, *CadreKind)
BIRTHS = (date(1940, 3, 1), date(1955, 7, 1), date(1974, 5, 17), date(1974, 5, 18), date(1985, 1, 1))
SUBJECT_BIRTHS = (date(2014, 5, 17), date(2010, 2, 1), date(1960, 1, 1))
TIERS = sorted(ALLOWED_TITLES)


def _rank(draw: st.DrawFn) -> Rank:
    tier = draw(st.sampled_from(TIERS))
    posts = [RankTitle.principal, RankTitle.deputy] * 2
    return Rank(tier=tier, title=draw(st.sampled_from([*posts, *sorted(ALLOWED_TITLES[tier])])))


@st.composite
def instances(
    draw: st.DrawFn, max_subjects: int = 7, max_cadres: int = 7, households: int = 4
) -> tuple[list[SubjectView], list[CadreView], dict[str, str], dict[str, str]]:
    """Small townships: two villages and a neighbouring township; now and then someone away
    from the province, a retired cadre, a cadre or household already paired."""
    subjects = []
    for i in range(draw(st.integers(0, max_subjects))):
        place = draw(st.sampled_from(PLACES))
        away = draw(st.integers(0, 9)) == 0
        subjects.append(
            subject(
                f"s{i}",
                f"h{draw(st.integers(0, households - 1))}",
                category=draw(st.sampled_from(CATEGORIES)),
                gender=draw(st.sampled_from([Gender.female, *Gender])),
                birth_date=draw(st.sampled_from(SUBJECT_BIRTHS)),
                residence=Place(outside_province=True) if away else place,
                registered=place,
            )
        )
    cadres = []
    for i in range(draw(st.integers(0, max_cadres))):
        kind = draw(st.sampled_from(KINDS))
        villages = draw(st.sets(st.sampled_from([p.village_code for p in PLACES]), max_size=2))
        townships = draw(st.sets(st.sampled_from([p.township_code for p in PLACES]), max_size=1))
        cadres.append(
            cadre(
                f"c{i}",
                kind=kind,
                gender=draw(st.sampled_from(list(Gender))),
                birth_date=draw(st.sampled_from(BIRTHS)),
                rank=CLERK if kind is CadreKind.unit_cadre and draw(st.booleans()) else _rank(draw),
                party_member=draw(st.integers(0, 4)) > 0,
                links=Links(
                    village_codes=tuple(sorted(villages)),
                    township_codes=tuple(sorted(townships)),
                    resident_township_code=draw(st.sampled_from(["", TOWNSHIP, ELSEWHERE.township_code])),
                ),
                can_take_pairings=draw(st.integers(0, 9)) > 0,
            )
        )
    held: dict[str, str] = {}
    for c in cadres:
        if draw(st.integers(0, 5)) == 0:
            held[c.cadre_id] = f"h{draw(st.integers(0, households + 1))}"
    paired = {h: c for c, h in sorted(held.items(), reverse=True)}
    if draw(st.integers(0, 7)) == 0:
        paired[f"h{draw(st.integers(0, households - 1))}"] = "c-gone"
    return subjects, cadres, held, paired


def best_possible(plan: Plan) -> int:
    """The most subjects any valid plan places (brute force over households × cadres)."""
    households = sorted(plan.household)
    best = 0
    options = [None, *plan.cadres]
    for choice in itertools.product(options, repeat=len(households)):
        used = [c.cadre_id for c in choice if c is not None]
        if len(used) != len(set(used)):
            continue
        holds = dict(plan.held)
        if any(holds.setdefault(c.cadre_id, h) != h for h, c in zip(households, choice, strict=True) if c):
            continue
        count = 0
        for h, c in zip(households, choice, strict=True):
            if c is None:
                continue
            holder = plan.holder(h) or c.cadre_id
            if any(plan.refusals(s, c, holds, holder) for s in plan.household[h]):
                break
            count += len(plan.household[h])
        else:
            best = max(best, count)
    return best


def county(
    seed: int, townships: int = 20, villages: int = 10, people: int = 1000, cadres: int = 1000
) -> tuple[list[SubjectView], list[CadreView], dict[str, str], dict[str, str]]:
    """A county: townships of villages, households of one to three subjects, and cadres of every
    kind linked with villages and townships as in the plan; a few already paired."""
    rng = random.Random(seed)
    town_codes = [f"6229251{t:02d}" for t in range(townships)]
    places = [
        Place(county_code="622925", township_code=t, village_code=f"{t}2{v:02d}")
        for t in town_codes
        for v in range(villages)
    ]
    subjects: list[SubjectView] = []
    while len(subjects) < people:
        household, place = f"h{len(subjects):04d}", rng.choice(places)
        for _ in range(min(rng.choices([1, 2, 3], [80, 15, 5])[0], people - len(subjects))):
            category = rng.choices(list(SubjectCategory), [40, 35, 25])[0]
            young = category is SubjectCategory.orphan
            born = date(rng.randint(2008, 2020) if young else rng.randint(1940, 1990), rng.randint(1, 12), 1)
            subjects.append(
                subject(
                    f"s{len(subjects):04d}",
                    household,
                    category=category,
                    gender=rng.choice(list(Gender)),
                    birth_date=born,
                    residence=place,
                    registered=place if rng.random() < 0.95 else rng.choice(places),
                )
            )
    posts = [TOWNSHIP_PRINCIPAL, TOWNSHIP_DEPUTY, COUNTY_DEPUTY, COUNTY_PRINCIPAL]
    grades = [Rank(tier=RankTier.township, title=RankTitle.clerk_chief_1), CLERK]
    people_cadres: list[CadreView] = []
    for i in range(cadres):
        kind = rng.choices(list(CadreKind), [1, 2, 4, 5, 50, 25, 13])[0]
        place = rng.choice(places)
        villages_linked = tuple(sorted({place.village_code, rng.choice(places).village_code}))
        links = Links(village_codes=villages_linked)
        if kind in (CadreKind.province_leader, CadreKind.prefecture_leader, CadreKind.county_leader):
            links = Links(township_codes=tuple(sorted({rng.choice(town_codes), rng.choice(town_codes)})))
        elif kind is CadreKind.resident_village_cadre:
            links = Links(
                resident_village_code=place.village_code, resident_township_code=place.township_code
            )
        rank = rng.choice(posts) if rng.random() < 0.8 else rng.choice(grades)
        if kind is CadreKind.unit_cadre:
            rank = CLERK
        people_cadres.append(
            cadre(
                f"c{i:04d}",
                kind=kind,
                gender=rng.choice(list(Gender)),
                birth_date=date(rng.randint(1962, 1995), rng.randint(1, 12), rng.randint(1, 28)),
                rank=rank,
                party_member=rng.random() < 0.9,
                links=links,
                can_take_pairings=rng.random() < 0.97,
            )
        )
    household_ids = sorted({s.household_id for s in subjects})
    held = {c.cadre_id: f"old-{c.cadre_id}" for c in rng.sample(people_cadres, cadres // 20)}
    paired: dict[str, str] = {}
    for c in rng.sample(
        sorted(
            set(people_cadres) - {x for x in people_cadres if x.cadre_id in held}, key=lambda c: c.cadre_id
        ),
        10,
    ):
        h = rng.choice(household_ids)
        if h not in paired:
            held[c.cadre_id] = h
            paired[h] = c.cadre_id
    return subjects, people_cadres, held, paired


# -- girls and women ----------------------------------------------------------------------------


def test_a_girl_whose_only_candidate_is_a_man_exactly_40_years_older_gets_him() -> None:
    plan = Plan([girl("g")], [cadre("m", birth_date=date(1974, 5, 17))])
    assert plan.placed == {"g": "m"}
    [suggestion] = plan.result.placed
    assert "没有可结对的女性干部" in suggestion.explanation and "相差40周岁" in suggestion.explanation
    assert_valid(plan)


def test_a_girl_whose_only_candidate_is_a_man_39_years_older_gets_nobody_and_is_told_why() -> None:
    plan = Plan([girl("g")], [cadre("m", birth_date=date(1974, 5, 18))])
    assert plan.placed == {}
    [reason] = plan.unplaced["g"]
    assert "唯一的候选男性干部" in reason and "不足40周岁" in reason and "相差39周岁" in reason
    assert plan.codes("g") == ("male_cadre_age_gap",)
    assert_valid(plan)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_woman_goes_to_the_girl_not_to_the_boy_whatever_the_input_order(reverse: bool) -> None:
    subjects = [subject("a-boy"), girl("b-girl")]
    cadres = [woman("a-woman"), cadre("b-man")]  # the man is too young for the girl
    plan = Plan(subjects[::-1] if reverse else subjects, cadres[::-1] if reverse else cadres)
    assert plan.placed == {"b-girl": "a-woman", "a-boy": "b-man"}
    girl_suggestion = next(p for p in plan.result.placed if p.subject_id == "b-girl")
    assert "女性干部结对女性孤儿" in girl_suggestion.explanation
    assert_valid(plan)


def test_a_girl_gets_a_man_only_once_every_woman_allowed_for_her_is_taken() -> None:
    older = date(1960, 1, 1)
    plan = Plan([girl("g1"), girl("g2")], [woman("w"), cadre("m", birth_date=older)])
    assert sorted(plan.placed.values()) == ["m", "w"]
    assert plan.result.placed[-1].cadre_id == "m"  # applied last, when the woman is taken
    assert_valid(plan)
    # with a second woman free, no girl is given to the man
    plan = Plan([girl("g1"), girl("g2")], [woman("w"), woman("w2"), cadre("m", birth_date=older)])
    assert sorted(plan.placed.values()) == ["w", "w2"]
    assert_valid(plan)


def test_a_subject_moves_to_a_woman_who_may_not_take_the_girls_household_to_free_its_man() -> None:
    """The girl lives with her grandmother: the household needs a leader, so the resident village
    cadre (a woman) cannot take it, yet while she is free the man may not take the girl. The
    neighbour's subject moves to her, and the man is free to take the household."""
    household = [girl("g", "h"), subject("grandmother", "h", category=SubjectCategory.extreme_poverty)]
    neighbour = subject("n", residence=NEIGHBOUR, registered=NEIGHBOUR)
    resident = woman(
        "r",
        kind=CadreKind.resident_village_cadre,
        rank=CLERK,
        links=Links(resident_village_code=VILLAGE.village_code, resident_township_code=TOWNSHIP),
    )
    man = cadre("m", birth_date=date(1960, 1, 1))
    neighbours_leader = cadre("a-leader", links=Links(village_codes=(NEIGHBOUR.village_code,)))
    plan = Plan([*household, neighbour], [resident, man, neighbours_leader])
    assert plan.placed == {"g": "m", "grandmother": "m", "n": "r"}
    assert_valid(plan)


def test_a_household_of_three_displaces_smaller_ones_when_its_man_unlocks_late() -> None:
    """Found by comparing with brute force: the household's only man is locked until the
    partner-unit woman is taken, by which time the single subjects hold the leaders."""
    home = Place(county_code="622925", township_code=TOWNSHIP, village_code=NEIGHBOUR.village_code)
    both = Links(village_codes=(VILLAGE.village_code, NEIGHBOUR.village_code))
    orphans = [
        subject("s0", "h3", category=SubjectCategory.orphan, birth_date=date(2014, 5, 17), residence=home),
        girl("s2", "h3", birth_date=date(2010, 2, 1), residence=home),
        subject("s3", "h3", category=SubjectCategory.orphan, birth_date=date(1960, 1, 1), residence=home),
    ]
    singles = [
        girl("s4", "h0", birth_date=date(1960, 1, 1), residence=home),
        subject("s1", "h1", gender=Gender.female, birth_date=date(1960, 1, 1)),
        subject("s5", "h2", category=SubjectCategory.extreme_poverty, gender=Gender.female, residence=home),
    ]
    cadres = [
        cadre(
            "c0", kind=CadreKind.county_leader, birth_date=date(1974, 5, 17), rank=TOWNSHIP_DEPUTY, links=both
        ),
        cadre("c1", birth_date=date(1974, 5, 18), links=both),
        cadre("c2", birth_date=date(1955, 7, 1), rank=TOWNSHIP_DEPUTY, links=both),
        woman("c3", kind=CadreKind.partner_unit_cadre, birth_date=date(1974, 5, 18), links=both),
    ]
    plan = Plan([*orphans, *singles], cadres)
    assert len(plan.placed) == best_possible(plan) == 5
    assert {plan.placed[s] for s in ("s0", "s2", "s3")} == {"c2"}
    assert_valid(plan)


# -- leaders, households, top-up cadres ---------------------------------------------------------


def test_a_household_of_three_gets_the_highest_ranking_leader_not_a_clerk() -> None:
    household = [
        subject("a", "h", category=SubjectCategory.orphan, birth_date=date(2012, 1, 1)),
        subject("b", "h", category=SubjectCategory.orphan, birth_date=date(2014, 1, 1)),
        subject("c", "h", category=SubjectCategory.orphan, birth_date=date(2016, 1, 1)),
    ]
    county_links = Links(township_codes=(TOWNSHIP,))
    cadres = [
        top_up("a-clerk"),
        cadre("b-township-deputy", rank=TOWNSHIP_DEPUTY),
        cadre("c-county-principal", kind=CadreKind.county_leader, rank=COUNTY_PRINCIPAL, links=county_links),
        cadre("d-township-principal", rank=TOWNSHIP_PRINCIPAL),
    ]
    plan = Plan(household, cadres)
    assert set(plan.placed.values()) == {"c-county-principal"}
    assert all("职务较高（县处级正职）" in p.explanation for p in plan.result.placed)
    assert_valid(plan)
    # a member who is not an orphan rules the county leader out: the best unit leader instead
    disabled = replace(household[2], category=SubjectCategory.severely_disabled)
    plan = Plan([*household[:2], disabled], cadres)
    assert set(plan.placed.values()) == {"d-township-principal"}
    assert_valid(plan)


def test_the_explanation_says_why_this_cadre() -> None:
    sister = girl("a-sister", "h")
    brother = subject(
        "b-brother",
        "h",
        category=SubjectCategory.orphan,
        birth_date=date(2012, 1, 1),
        residence=Place(outside_province=True),
    )
    plan = Plan(
        [sister, brother], [woman("w", rank=COUNTY_PRINCIPAL), cadre("m", birth_date=date(1950, 1, 1))]
    )
    explanations = {p.subject_id: p.explanation for p in plan.result.placed}
    household = "职务较高（县处级正职）结对多名关爱对象的家庭（2名）"
    assert explanations == {
        "a-sister": f"领导干部优先；女性干部结对女性孤儿；{household}",
        "b-brother": f"领导干部优先；{household}；常住地在省外，由户籍地干部结对",
    }
    assert_valid(plan)


def test_a_household_of_several_swaps_its_leader_with_a_single_subject_for_a_higher_one() -> None:
    """v takes the middle leader first; r needs the household's leader, so the household moves
    down to the lowest one. v could as well take the lowest leader, so the two swap."""
    household = [subject("a", "h0"), subject("b", "h0")]
    v = subject("v", "h1", residence=NEIGHBOUR, registered=NEIGHBOUR)
    r = subject("r", "h2", residence=ELSEWHERE, registered=ELSEWHERE)
    cadres = [
        cadre(
            "a-high",
            rank=COUNTY_PRINCIPAL,
            links=Links(village_codes=(VILLAGE.village_code, ELSEWHERE.village_code)),
        ),
        cadre(
            "b-mid",
            rank=COUNTY_DEPUTY,
            links=Links(village_codes=(VILLAGE.village_code, NEIGHBOUR.village_code)),
        ),
        cadre(
            "c-low",
            rank=TOWNSHIP_DEPUTY,
            links=Links(village_codes=(VILLAGE.village_code, NEIGHBOUR.village_code)),
        ),
    ]
    plan = Plan([*household, r, v], cadres)
    assert plan.placed == {"a": "b-mid", "b": "b-mid", "r": "a-high", "v": "c-low"}
    assert_valid(plan)


def test_a_household_is_kept_together_or_left_out_together() -> None:
    household = [
        girl("g", "h"),
        subject("b", "h", category=SubjectCategory.orphan, birth_date=date(2012, 1, 1)),
    ]
    plan = Plan(household, [top_up("clerk")])  # a household of two needs a leader
    assert plan.placed == {}
    assert set(plan.unplaced) == {"g", "b"}
    assert "household_needs_leader" in plan.codes("g")
    assert_valid(plan)
    plan = Plan(household, [woman("w", rank=TOWNSHIP_DEPUTY)])
    assert plan.placed == {"g": "w", "b": "w"}
    assert_valid(plan)


def test_top_up_cadres_are_used_only_where_leaders_run_out() -> None:
    leader, clerks = cadre("z-leader"), [top_up("a-clerk"), top_up("b-clerk")]
    plan = Plan([subject("s1")], [leader, *clerks])
    assert plan.placed == {"s1": "z-leader"}
    plan = Plan([subject("s1"), subject("s2")], [leader, *clerks])
    assert plan.placed == {"s1": "z-leader", "s2": "a-clerk"} or plan.placed == {
        "s1": "a-clerk",
        "s2": "z-leader",
    }
    clerk_suggestion = next(p for p in plan.result.placed if p.cadre_id == "a-clerk")
    assert "择优补充" in clerk_suggestion.explanation
    assert_valid(plan)


def test_a_top_up_cadre_is_not_used_where_a_chain_of_moves_frees_a_leader() -> None:
    # s1 can take either leader, s2 only the first: both get a leader and the clerk stays free
    s1, s2 = subject("s1"), subject("s2", residence=NEIGHBOUR, registered=NEIGHBOUR)
    both = Links(village_codes=(VILLAGE.village_code, NEIGHBOUR.village_code))
    cadres = [cadre("a-leader", links=both), cadre("b-leader"), top_up("c-clerk", links=both)]
    plan = Plan([s1, s2], cadres)
    assert plan.placed == {"s1": "b-leader", "s2": "a-leader"}
    assert_valid(plan)


# -- households and cadres already paired -------------------------------------------------------


def test_a_member_goes_to_the_cadre_already_pairing_the_household() -> None:
    plan = Plan(
        [subject("new", "h")],
        [cadre("a-other", rank=COUNTY_PRINCIPAL), cadre("b-holder")],
        held={"b-holder": "h"},
        paired={"h": "b-holder"},
    )
    assert plan.placed == {"new": "b-holder"}
    assert "同户关爱对象已由该干部结对" in plan.result.placed[0].explanation
    assert_valid(plan)


def test_a_household_whose_cadre_cannot_take_the_member_stays_unplaced_with_the_reason() -> None:
    plan = Plan([subject("new", "h")], [cadre("a-other")], paired={"h": "gone"})
    assert plan.placed == {}
    assert plan.codes("new") == ("household_has_other_cadre",)
    assert "一户原则上由1名干部结对" in plan.unplaced["new"][0]
    assert_valid(plan)


def test_a_cadre_holding_another_household_takes_nobody_else() -> None:
    plan = Plan([subject("s")], [cadre("busy")], held={"busy": "elsewhere"})
    assert plan.placed == {}
    assert plan.codes("s") == ("all_cadres_taken",)
    assert plan.unplaced["s"] == ("所有可结对的干部都已结对（共1名）",)
    assert_valid(plan)


# -- reasons ------------------------------------------------------------------------------------


def test_unplaced_subjects_are_told_which_rules_excluded_their_candidates() -> None:
    far = subject("far", residence=ELSEWHERE, registered=ELSEWHERE)
    disabled = subject("disabled")
    county_leader = cadre("county", kind=CadreKind.county_leader, links=Links(township_codes=(TOWNSHIP,)))
    plan = Plan([far, disabled], [county_leader])
    assert plan.unplaced["far"] == ("没有联系该村的干部",)
    assert plan.codes("far") == ("no_cadre_for_place",)
    assert plan.codes("disabled") == ("leader_orphans_only",)
    assert "只与孤儿结对" in plan.unplaced["disabled"][0]
    assert_valid(plan)


def test_competing_subjects_one_of_whom_is_told_the_cadres_are_taken() -> None:
    plan = Plan([subject("s1"), subject("s2")], [cadre("only"), cadre("retired", can_take_pairings=False)])
    [left_out] = plan.unplaced
    assert plan.codes(left_out) == ("all_cadres_taken", "cadre_unavailable")
    assert_valid(plan)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate subject"):
        suggest([subject("s"), subject("s")], [])
    with pytest.raises(ValueError, match="duplicate cadre"):
        suggest([], [cadre("c"), cadre("c")])


# -- determinism, size, properties --------------------------------------------------------------


def test_the_same_input_in_any_order_gives_the_same_output() -> None:
    subjects, cadres, held, paired = county(11, townships=3, villages=6, people=150, cadres=130)
    first = suggest(subjects, cadres, held=held, paired_households=paired)
    rng = random.Random(5)
    for _ in range(3):
        rng.shuffle(subjects)
        rng.shuffle(cadres)
        again = suggest(subjects, cadres, held=dict(reversed(held.items())), paired_households=paired)
        assert again == first
    assert first.placed and first.unplaced


def test_a_county_of_a_thousand_subjects_and_a_thousand_cadres() -> None:
    plan = Plan(*county(2026))
    assert len(plan.subject) == 1000 and len(plan.cadre) == 1000
    assert plan.problems() == []
    assert len(plan.result.placed) > 900


@pytest.mark.slow  # a long property run: `make test` takes it, `make test-unit` does not
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_suggestion_is_valid_and_households_stay_together(
    instance: tuple[list[SubjectView], list[CadreView], dict[str, str], dict[str, str]],
) -> None:
    assert_valid(Plan(*instance))


@pytest.mark.slow  # a long property run: `make test` takes it, `make test-unit` does not
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_subjects=6, max_cadres=5, households=4))
def test_without_girl_orphans_as_many_subjects_are_placed_as_possible(
    instance: tuple[list[SubjectView], list[CadreView], dict[str, str], dict[str, str]],
) -> None:
    subjects, cadres, held, paired = instance
    subjects = [replace(s, gender=Gender.male) if is_girl(s) else s for s in subjects]
    plan = Plan(subjects, cadres, held, paired)
    assert len(plan.result.placed) == best_possible(plan)


def test_with_girl_orphans_as_many_subjects_are_placed_as_possible_on_dense_townships() -> None:
    """Not guaranteed (a man's edge depends on the plan), so checked on fixed random instances."""
    rng = random.Random(20261129)
    kinds = [CadreKind.unit_leader] * 2 + [
        CadreKind.county_leader,
        CadreKind.resident_village_cadre,
        CadreKind.unit_cadre,
        CadreKind.partner_unit_cadre,
    ]
    ranks = [TOWNSHIP_PRINCIPAL, TOWNSHIP_DEPUTY, COUNTY_DEPUTY, COUNTY_PRINCIPAL, CLERK]
    codes = [VILLAGE.village_code, NEIGHBOUR.village_code]
    for _ in range(600):
        households = rng.randint(1, 4)
        subjects = [
            subject(
                f"s{i}",
                f"h{rng.randrange(households)}",
                category=rng.choice([SubjectCategory.orphan] * 3 + list(SubjectCategory)),
                gender=rng.choice([Gender.female, Gender.female, Gender.male]),
                birth_date=rng.choice(SUBJECT_BIRTHS),
                residence=rng.choice([VILLAGE, NEIGHBOUR]),
            )
            for i in range(rng.randint(1, 7))
        ]
        cadres = []
        for i in range(rng.randint(1, 5)):
            kind = rng.choice(kinds)
            cadres.append(
                cadre(
                    f"c{i}",
                    kind=kind,
                    gender=rng.choice(list(Gender)),
                    birth_date=rng.choice(BIRTHS),
                    rank=CLERK if kind is CadreKind.unit_cadre else rng.choice(ranks),
                    links=Links(
                        village_codes=tuple(rng.sample(codes, rng.randint(1, 2))),
                        township_codes=(TOWNSHIP,) if rng.random() < 0.5 else (),
                        resident_township_code=TOWNSHIP if kind is CadreKind.resident_village_cadre else "",
                    ),
                )
            )
        plan = Plan(subjects, cadres)
        assert_valid(plan)
        assert len(plan.result.placed) == best_possible(plan)
