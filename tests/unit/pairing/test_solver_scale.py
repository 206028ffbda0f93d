"""The solver's shortcuts for large scopes give the rules' own answers, and the pure curve runs.

`suggest` checks a household only against the cadres whose kind and links let them take every
member (`_Problem._placeable`), and keeps the rules' answers by what they read of a pair
(`solver_reasons.Verdicts`). Both are checked here against `check_pairing` itself, on random
pairs that vary everything the rules read.
"""

from __future__ import annotations

import random
from datetime import date

from bench import suggesting
from services.pairing.domain import solver
from services.pairing.domain.rules import CadreView, PairingContext, SubjectView, check_pairing
from services.pairing.domain.solver_reasons import Verdicts
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

TOWNSHIPS = ("622925100", "622925101")
VILLAGES = ("622925100201", "622925100202", "622925101201")
PLACE_AND_KIND = {
    "outside_linked_area",
    "outside_linked_villages",
    "outside_resident_township",
    "resident_village_missing",
    "leader_orphans_only",
    "unit_not_placed",
}


def place(rng: random.Random) -> Place:
    village = rng.choice(VILLAGES)
    return Place(county_code=village[:6], township_code=village[:9], village_code=village)


def random_subject(rng: random.Random, i: int) -> SubjectView:
    home = place(rng)
    outside = rng.random() < 0.1
    return SubjectView(
        subject_id=f"s{i}",
        household_id=f"h{rng.randrange(4)}",
        name=f"马{i}",
        category=rng.choice(list(SubjectCategory)),
        gender=rng.choice(list(Gender)),
        birth_date=date(rng.choice((1950, 1990, 2012, 2015)), rng.randint(1, 12), 1),
        residence=Place(outside_province=True) if outside else home,
        registered=home,
    )


def random_cadre(rng: random.Random, i: int) -> CadreView:
    kind = rng.choice(list(CadreKind))
    resident = rng.choice(VILLAGES) if rng.random() < 0.8 else ""
    return CadreView(
        cadre_id=f"c{i}",
        name=f"李{i}",
        kind=kind,
        gender=rng.choice(list(Gender)),
        birth_date=date(rng.choice((1955, 1970, 1990)), rng.randint(1, 12), 1),
        rank=Rank(
            tier=rng.choice([RankTier.county, RankTier.township, RankTier.below_section]),
            title=rng.choice([RankTitle.principal, RankTitle.deputy, RankTitle.clerk_1]),
        )
        if kind is not CadreKind.unit_cadre
        else Rank(tier=RankTier.below_section, title=RankTitle.clerk_1),
        party_member=rng.random() < 0.8,
        links=Links(
            village_codes=tuple(rng.sample(VILLAGES, rng.randint(0, 2))),
            township_codes=tuple(rng.sample(TOWNSHIPS, rng.randint(0, 1))),
            resident_village_code=resident if kind is CadreKind.resident_village_cadre else "",
            resident_township_code=resident[:9] if kind is CadreKind.resident_village_cadre else "",
        ),
        can_take_pairings=rng.random() < 0.9,
    )


def codes(refusals: list) -> list[tuple[str, bool]]:
    return [(r.code, r.overridable) for r in refusals]


def test_kept_verdicts_give_the_codes_and_strengths_check_pairing_gives() -> None:
    rng = random.Random(20261130)
    people = [random_subject(rng, i) for i in range(60)]
    staff = [random_cadre(rng, i) for i in range(40)]
    verdicts = Verdicts()
    compared = 0
    for _ in range(20_000):
        s, c = rng.choice(people), rng.choice(staff)
        household = tuple(p for p in people if p.household_id == s.household_id)[: rng.randint(1, 3)]
        context = PairingContext(
            household=household,
            household_cadre_id=rng.choice([None, None, c.cadre_id, "c-other"]),
            cadre_household_id=rng.choice([None, None, s.household_id, "h-other"]),
            subject_cadre_id=rng.choice([None, None, None, c.cadre_id, "c-other"]),
            female_cadre_available=rng.random() < 0.5,
        )
        assert codes(verdicts.check(s, c, context)) == codes(check_pairing(s, c, context)), (s, c, context)
        compared += 1
    assert compared == 20_000


def test_the_cadres_left_unchecked_are_those_a_hard_place_or_kind_rule_refuses() -> None:
    rng = random.Random(20261131)
    people = [random_subject(rng, i) for i in range(80)]
    staff = [random_cadre(rng, i) for i in range(60)]
    problem = solver._Problem(people, staff, {}, {})
    left_out = 0
    for s in people:
        placeable = problem._placeable(s)
        for i, c in enumerate(problem.cadres):
            refusals = check_pairing(s, c, PairingContext())
            place_or_kind = [r for r in refusals if r.code in PLACE_AND_KIND]
            if i in placeable:
                assert not place_or_kind, (s, c, refusals)
            else:
                left_out += 1
                assert place_or_kind and not all(r.overridable for r in place_or_kind), (s, c)
    assert left_out > 0


def test_the_pure_curve_times_every_n_and_fits_an_exponent() -> None:
    measured = suggesting.curve([60, 120], repeat=1, seed=3)
    assert [p["n"] for p in measured["points"]] == [60, 120]
    for point in measured["points"]:
        assert point["cadres"] > 0 and point["placed"] > 0
        assert point["placed"] + point["unplaced"] == point["n"]
        assert set(point["parts_seconds"]) == {"setup", "graph", "matching", "plan_and_reasons"}
    assert measured["points"][0]["ratio_to_first_n_log_n"] == 1
    assert isinstance(measured["fitted_exponent"], float)


def test_sharing_the_reasons_of_households_of_one_shape_changes_no_reason() -> None:
    rng = random.Random(20261132)
    compared = 0
    for round_ in range(40):
        people = [
            SubjectView(**{**vars(random_subject(rng, i)), "household_id": f"h{rng.randrange(25)}"})
            for i in range(40)
        ]
        staff = [random_cadre(rng, i) for i in range(rng.randint(3, 30))]
        held = {c.cadre_id: f"h{rng.randrange(30)}" for c in rng.sample(staff, min(3, len(staff)))}
        paired = {f"h{rng.randrange(30)}": rng.choice(staff).cadre_id for _ in range(3)}
        plans = []
        for share in (True, False):
            problem = solver._Problem(people, staff, held, paired, share_reasons=share)
            plans.append(problem.suggestions(solver.match(problem.graph())))
        shared, alone = plans
        assert shared == alone, round_
        compared += len(alone.unplaced)
    assert compared > 200
