"""Any sequence of commands keeps the pairing invariants (hypothesis state machine, real SQLite).

- no subject has two active cadres;
- no cadre holds subjects of two households;
- no girl orphan has a male cadre less than 40 years older without a recorded override;
- nothing dated ahead has happened yet: no pairing ended, and nobody waits, after today.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.pairing import handlers
from services.pairing.adapters.tables import pairing_history
from services.pairing.domain.commands import (
    ChangeSituation,
    EndPairing,
    PairSubject,
    ReassignSubject,
    RegisterCadre,
    RegisterSubject,
    RetireCadre,
)
from services.pairing.domain.refusals import Refused
from services.pairing.entrypoints.schedules import apply_due_changes
from shared.contracts.pairing import EndReason, Situation
from shared.contracts.people import (
    CadreKind,
    CareSetting,
    Gender,
    Links,
    OrphanType,
    Rank,
    RankTier,
    RankTitle,
)
from shared.eventstore import Metadata
from tests.support.identity import resident_id
from tests.support.pairing_people import VILLAGE
from tests.support.pairing_world import World

TODAY = date(2026, 11, 29)
META = Metadata(actor="operator:property")


class PairingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.subjects: list[str] = []
        self.households: list[str] = []
        self.cadres: list[str] = []
        self.cadre_facts: dict[str, tuple[Gender, date]] = {}
        self.subject_facts: dict[str, tuple[Gender, date]] = {}
        self.serial = 0

    def teardown(self) -> None:
        self.world.close()

    def _attempt(self, work: Any) -> None:
        try:
            self.world.run(work)
        except Refused:
            pass
        self.world.settle()

    @rule(female=st.booleans(), age=st.integers(1, 16), new_household=st.booleans())
    def register_girl_or_boy(self, female: bool, age: int, new_household: bool) -> None:
        if new_household or not self.households:
            self.households.append(f"h-{uuid.uuid4()}")
        born = date(TODAY.year - age, 3, 1)
        self.serial += 1
        subject_id = f"s-{self.serial}"
        gender = Gender.female if female else Gender.male
        details = RegisterSubject(
            subject_id=subject_id,
            household_id=self.households[-1],
            name=f"对象{self.serial}",
            gender=gender,
            birth_date=born,
            id_number=resident_id(VILLAGE.county_code, born, female, self.serial),
            residence=VILLAGE,
            registered_place=VILLAGE,
            category="orphan",
            orphan_type=OrphanType.orphan,
            care_setting=CareSetting.scattered,
        )
        self.world.run(handlers.register_subject(self.world.deps, details, META))
        self.subjects.append(subject_id)
        self.subject_facts[subject_id] = (gender, born)
        self.world.settle()

    @rule(female=st.booleans(), birth_year=st.integers(1960, 1995), leader=st.booleans())
    def register_cadre(self, female: bool, birth_year: int, leader: bool) -> None:
        self.serial += 1
        cadre_id = f"c-{self.serial}"
        gender = Gender.female if female else Gender.male
        born = date(birth_year, 6, 1)
        details = RegisterCadre(
            cadre_id=cadre_id,
            name=f"干部{self.serial}",
            gender=gender,
            birth_date=born,
            unit_id="u-1",
            unit_name="县民政局",
            rank=Rank(tier=RankTier.township, title=RankTitle.principal)
            if leader
            else Rank(tier=RankTier.below_section, title=RankTitle.clerk_1),
            party_member=True,
            kind=CadreKind.unit_leader if leader else CadreKind.unit_cadre,
            links=Links(village_codes=(VILLAGE.village_code,)),
        )
        self.world.run(handlers.register_cadre(self.world.deps, details, META))
        self.cadres.append(cadre_id)
        self.cadre_facts[cadre_id] = (gender, born)
        self.world.settle()

    @precondition(lambda self: self.subjects and self.cadres)
    @rule(s=st.integers(0, 1000), c=st.integers(0, 1000), override=st.booleans())
    def pair(self, s: int, c: int, override: bool) -> None:
        subject = self.subjects[s % len(self.subjects)]
        cadre = self.cadres[c % len(self.cadres)]
        try:
            self.world.run(
                handlers.pair(self.world.deps, PairSubject(subject_id=subject, cadre_id=cadre), META)
            )
        except Refused as refused:
            if override and all(r.overridable for r in refused.refusals):
                reasons = {r.code: "运行测试：操作员书面理由" for r in refused.refusals}
                command = PairSubject(subject_id=subject, cadre_id=cadre, overrides=reasons)
                self._attempt(handlers.pair(self.world.deps, command, META))
        self.world.settle()

    @precondition(lambda self: self.subjects)
    @rule(s=st.integers(0, 1000))
    def end(self, s: int) -> None:
        subject = self.subjects[s % len(self.subjects)]
        ending = EndPairing(subject_id=subject, reason=EndReason.operator)
        self._attempt(handlers.end_pairing(self.world.deps, ending, META))

    @precondition(lambda self: self.subjects and self.cadres)
    @rule(s=st.integers(0, 1000), c=st.integers(0, 1000))
    def reassign(self, s: int, c: int) -> None:
        subject = self.subjects[s % len(self.subjects)]
        cadre = self.cadres[c % len(self.cadres)]
        command = ReassignSubject(subject_id=subject, to_cadre_id=cadre)
        self._attempt(handlers.reassign(self.world.deps, command, META))

    @precondition(lambda self: self.cadres)
    @rule(c=st.integers(0, 1000), continues=st.booleans())
    def retire(self, c: int, continues: bool) -> None:
        cadre = self.cadres[c % len(self.cadres)]
        today = self.world.clock.today()
        retirement = RetireCadre(cadre_id=cadre, effective_on=today, continues=continues)
        self._attempt(handlers.retire_cadre(self.world.deps, retirement, META))

    @precondition(lambda self: self.cadres)
    @rule(c=st.integers(0, 1000), continues=st.booleans(), days=st.integers(1, 30))
    def retire_later(self, c: int, continues: bool, days: int) -> None:
        cadre = self.cadres[c % len(self.cadres)]
        on = self.world.clock.today() + timedelta(days=days)
        retirement = RetireCadre(cadre_id=cadre, effective_on=on, continues=continues)
        self._attempt(handlers.retire_cadre(self.world.deps, retirement, META))

    @precondition(lambda self: self.subjects)
    @rule(s=st.integers(0, 1000), days=st.integers(1, 30))
    def end_later(self, s: int, days: int) -> None:
        subject = self.subjects[s % len(self.subjects)]
        on = self.world.clock.today() + timedelta(days=days)
        ending = EndPairing(subject_id=subject, reason=EndReason.operator, effective_on=on)
        self._attempt(handlers.end_pairing(self.world.deps, ending, META))

    @rule(days=st.integers(1, 20))
    def days_pass(self, days: int) -> None:
        self.world.clock.advance(timedelta(days=days))
        self._attempt(apply_due_changes(self.world.deps))

    @precondition(lambda self: self.subjects)
    @rule(s=st.integers(0, 1000))
    def dies(self, s: int) -> None:
        subject = self.subjects[s % len(self.subjects)]
        today = self.world.clock.today()
        change = ChangeSituation(subject_id=subject, situation=Situation.died, effective_on=today)
        self._attempt(handlers.change_situation(self.world.deps, change, META))

    def _active(self) -> list[Any]:
        async def read() -> list[Any]:
            async with self.world.engine.connect() as conn:
                query = sa.select(pairing_history).where(pairing_history.c.ended_on.is_(None))
                return list((await conn.execute(query)).mappings())

        return list(self.world.run(read()))

    @invariant()
    def no_subject_has_two_active_cadres(self) -> None:
        subjects = [row["subject_id"] for row in self._active()]
        assert len(subjects) == len(set(subjects))
        for subject_id in self.subjects:
            state = self.world.run(self.world.deps.repo.subject(subject_id))
            assert sum(1 for p in state.pairings if p.ended_on is None) <= 1

    @invariant()
    def nothing_dated_ahead_has_happened_yet(self) -> None:
        today = self.world.clock.today()
        for subject_id in self.subjects:
            state = self.world.run(self.world.deps.repo.subject(subject_id))
            assert all(p.ended_on is None or p.ended_on <= today for p in state.pairings), state.pairings
            assert state.waiting_since is None or state.waiting_since <= today

    @invariant()
    def no_cadre_holds_two_households(self) -> None:
        households: dict[str, set[str]] = {}
        for row in self._active():
            households.setdefault(row["cadre_id"], set()).add(row["household_id"])
        assert all(len(h) == 1 for h in households.values()), households

    @invariant()
    def no_girl_has_a_man_too_young_without_an_override(self) -> None:
        for subject_id in self.subjects:
            state = self.world.run(self.world.deps.repo.subject(subject_id))
            current = state.current
            gender, born = self.subject_facts[subject_id]
            if current is None or gender is not Gender.female:
                continue
            cadre_gender, cadre_born = self.cadre_facts[current.cadre_id]
            if cadre_gender is Gender.male:
                from services.pairing.domain.eligibility import full_years

                if full_years(cadre_born, born) < 40:
                    assert {"male_cadre_age_gap", "girl_needs_female_cadre"} & set(current.overridden), (
                        current
                    )


PairingMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPairingInvariants = PairingMachine.TestCase
