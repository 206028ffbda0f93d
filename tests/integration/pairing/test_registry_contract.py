"""The registry rules hold the same on every store: in memory, on SQLite and on PostgreSQL.

The rules that span records (an ID number registered once, a cadre registered once, one cadre
one household, no new pairing for a cadre who left, one active pairing per subject) are kept
by the registries an append changes. The in-memory registries beside the in-memory store and
the SQL tables apply the same changes; every test here runs against each of them, through the
handlers as the API calls them, or through the repository with a decision made stale on
purpose (the window a race opens, made deterministic).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import pytest
from sqlalchemy.engine import URL

from services.pairing import handlers
from services.pairing.adapters.repository import PairingRepository
from services.pairing.domain import pairing as pairings
from services.pairing.domain.basis import basis_of
from services.pairing.domain.commands import ChangeSubjectDetails, EndPairing, PairSubject, RetireCadre
from services.pairing.domain.ports import Registries, RegistryReader
from services.pairing.domain.refusals import Refused
from services.pairing.domain.rules import PairingContext
from shared.contracts.pairing import SubjectPaired
from shared.contracts.people import Gender
from shared.eventstore import Metadata, StaleRead
from tests.support.identity import resident_id
from tests.support.pairing_people import orphan, unit_leader
from tests.support.pairing_world import TODAY, memory_deps, sql_deps

META = Metadata(actor="operator:test")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def deps(request: pytest.FixtureRequest, sqlite_url: URL) -> AsyncIterator[handlers.PairingDeps]:
    """The handlers' dependencies over one store and its registries."""
    if request.param == "memory":
        async with memory_deps() as built:
            yield built
        return
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    async with sql_deps(url) as built:
        yield built


async def refusal_of(work: object) -> str:
    with pytest.raises(Refused) as caught:
        await work  # type: ignore[misc]
    [refusal] = caught.value.refusals
    return refusal.code


async def test_an_id_number_registers_one_subject_and_a_corrected_one_moves(
    deps: handlers.PairingDeps,
) -> None:
    born = date(2015, 1, 1)
    await handlers.register_subject(deps, orphan("s-1", born, 11), META)
    assert await refusal_of(handlers.register_subject(deps, orphan("s-2", born, 11), META)) == (
        "subject_duplicate"
    )
    assert (await deps.repo.subject("s-2")).version == 0  # nothing of the refused append stays
    await handlers.change_subject_details(deps, ChangeSubjectDetails(**dict(orphan("s-1", born, 13))), META)
    await handlers.register_subject(deps, orphan("s-2", born, 11), META)  # the old number is free
    assert await refusal_of(handlers.register_subject(deps, orphan("s-3", born, 13), META)) == (
        "subject_duplicate"
    )


async def test_a_unit_registers_a_cadre_of_one_name_and_birth_date_once(deps: handlers.PairingDeps) -> None:
    await handlers.register_cadre(deps, unit_leader("c-1", name="李明"), META)
    assert await refusal_of(handlers.register_cadre(deps, unit_leader("c-2", name="李明"), META)) == (
        "cadre_duplicate"
    )
    await handlers.register_cadre(deps, unit_leader("c-3", name="李明", born=date(1976, 1, 1)), META)


async def test_a_cadre_holding_another_household_is_refused(deps: handlers.PairingDeps) -> None:
    await handlers.register_subject(deps, orphan("s-1", serial=11), META)
    await handlers.register_subject(deps, orphan("s-2", serial=12), META)  # a household of its own
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-1", cadre_id="c-1"), META)
    async with deps.registries.committed() as registries:
        assert await registries.held_by("c-1") == "h-s-1"
        assert await registries.cadre_of("s-1") == "c-1"
        assert await registries.paired_subjects("c-1") == ["s-1"]
    # Through the handler: the rule reads the committed holding.
    paired = handlers.pair(deps, PairSubject(subject_id="s-2", cadre_id="c-1"), META)
    assert await refusal_of(paired) == "cadre_already_paired"
    # Decided on a stale, empty context: the registry itself refuses at commit.
    subject, cadre = await deps.repo.subject("s-2"), await deps.repo.cadre("c-1")
    events = pairings.decide_pair(
        subject,
        cadre,
        PairingContext(),
        PairSubject(subject_id="s-2", cadre_id="c-1"),
        today=TODAY,
        operator="t",
    )
    assert await refusal_of(deps.repo.append_subject(subject, events, META)) == "cadre_already_paired"
    assert (await deps.repo.subject("s-2")).current is None


async def test_a_cadre_who_left_after_the_decision_takes_no_pairing(deps: handlers.PairingDeps) -> None:
    await handlers.register_subject(deps, orphan("s-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    subject, stale_cadre = await deps.repo.subject("s-1"), await deps.repo.cadre("c-1")
    command = PairSubject(subject_id="s-1", cadre_id="c-1")
    events = pairings.decide_pair(subject, stale_cadre, PairingContext(), command, today=TODAY, operator="t")
    await handlers.retire_cadre(deps, RetireCadre(cadre_id="c-1", effective_on=TODAY, continues=False), META)
    assert await refusal_of(deps.repo.append_subject(subject, events, META)) == "cadre_unavailable"
    async with deps.registries.committed() as registries:
        assert await registries.cadre_of("s-1") is None and await registries.held_by("c-1") is None


async def test_a_subject_already_paired_takes_no_second_cadre(deps: handlers.PairingDeps) -> None:
    await handlers.register_subject(deps, orphan("s-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-2", name="王强"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-1", cadre_id="c-1"), META)
    assert await refusal_of(handlers.pair(deps, PairSubject(subject_id="s-1", cadre_id="c-2"), META)) == (
        "subject_already_paired"
    )
    # A second pairing recorded past the rules is refused by the registry at commit.
    subject = await deps.repo.subject("s-1")
    second = SubjectPaired(
        pairing_id=uuid.uuid4(),
        subject_id="s-1",
        household_id="h-s-1",
        cadre_id="c-2",
        unit_id="u-1",
        effective_on=TODAY,
    )
    assert await refusal_of(deps.repo.append_subject(subject, [second], META)) == "subject_already_paired"
    async with deps.registries.committed() as registries:
        assert await registries.held_by("c-2") is None and await registries.cadre_of("s-1") == "c-1"


class Interleaved:
    """Registries whose first reading is followed by another command, before the decision commits."""

    def __init__(self, inner: Registries, meanwhile: object) -> None:
        self.inner = inner
        self.meanwhile = meanwhile
        self.readings = 0

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[RegistryReader]:
        self.readings += 1
        async with self.inner.committed() as reader:
            yield reader
        if self.readings == 1:
            await self.meanwhile  # type: ignore[misc]

    def effect(self, *args: object, **kwargs: object) -> object:
        return self.inner.effect(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_basis_changed_before_the_commit_makes_the_command_decide_again(
    deps: handlers.PairingDeps,
) -> None:
    await handlers.register_subject(deps, orphan("s-1", serial=11), META)
    await handlers.register_subject(deps, orphan("s-2", serial=12), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    # Checked at commit: a basis read before another pairing of the cadre is stale.
    subject, cadre = await deps.repo.subject("s-1"), await deps.repo.cadre("c-1")
    context, check = await handlers.committed_context(deps, subject, cadre)
    assert context.cadre_household_id is None and check is not None
    events = pairings.decide_pair(
        subject, cadre, context, PairSubject(subject_id="s-1", cadre_id="c-1"), today=TODAY, operator="t"
    )
    await handlers.pair(deps, PairSubject(subject_id="s-2", cadre_id="c-1"), META)
    with pytest.raises(StaleRead):
        await deps.repo.append_subject(subject, events, META, check)
    assert (await deps.repo.subject("s-1")).current is None
    # Through the handler: the stale decision is decided again, on what is committed now.
    await handlers.end_pairing(deps, EndPairing(subject_id="s-2"), META)
    rival = handlers.pair(deps, PairSubject(subject_id="s-2", cadre_id="c-1"), META)
    interleaved = Interleaved(deps.repo.registries, rival)
    racing = handlers.PairingDeps(
        repo=PairingRepository(deps.repo.store, deps.repo.opener, interleaved),  # type: ignore[arg-type]
        engine=deps.engine,
        clock=deps.clock,
    )
    assert await refusal_of(handlers.pair(racing, PairSubject(subject_id="s-1", cadre_id="c-1"), META)) == (
        "cadre_already_paired"
    )
    assert interleaved.readings >= 2  # decided once on the old basis, then again on the new one
    async with deps.registries.committed() as registries:
        assert await registries.paired_subjects("c-1") == ["s-2"]
    assert (await deps.repo.subject("s-1")).current is None


async def test_free_women_are_read_the_same_way(deps: handlers.PairingDeps) -> None:
    await handlers.register_cadre(deps, unit_leader("c-1", Gender.female, name="李芳"), META)
    await handlers.register_cadre(deps, unit_leader("c-2", Gender.female, name="马兰"), META)
    await handlers.register_cadre(deps, unit_leader("c-3", Gender.male, name="王强"), META)
    await handlers.register_subject(deps, orphan("s-1"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-1", cadre_id="c-2"), META)
    await handlers.retire_cadre(deps, RetireCadre(cadre_id="c-1", effective_on=TODAY, continues=True), META)
    async with deps.registries.committed() as registries:
        assert [w.cadre_id for w in await registries.free_women(excluding="c-3")] == ["c-1"]
        assert await registries.free_women(excluding="c-1") == []
        assert await registries.free_women(excluding="c-3", unit_id="u-other") == []
        assert await registries.household("h-s-1") == ("s-1",)
        assert await registries.cadre_version("c-1") == 2


async def test_many_people_load_at_once_as_each_loads_alone(deps: handlers.PairingDeps) -> None:
    await handlers.register_subject(deps, orphan("s-1", date(2015, 1, 1), 11), META)
    await handlers.register_subject(deps, orphan("s-2", date(2016, 2, 2), 12), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-2", cadre_id="c-1"), META)
    subjects = await deps.repo.subjects(["s-2", "s-1", "s-nobody"])
    assert list(subjects) == ["s-2", "s-1", "s-nobody"]
    for subject_id, state in subjects.items():
        assert state == await deps.repo.subject(subject_id)
    assert subjects["s-2"].current is not None and subjects["s-nobody"].details is None
    cadres = await deps.repo.cadres(["c-1", "c-nobody"])
    assert cadres["c-1"] == await deps.repo.cadre("c-1")
    assert cadres["c-1"].registered and not cadres["c-nobody"].registered


async def test_many_bases_read_at_once_are_each_as_read_alone(deps: handlers.PairingDeps) -> None:
    """`read_many` + `basis_of` give every pairing's basis as `read_basis` reads it piece by piece."""
    await handlers.register_subject(deps, orphan("s-1", date(2014, 1, 1), 11), META)
    member = orphan("s-2", date(2016, 2, 2), 12).model_copy(update={"household_id": "h-s-1"})
    await handlers.register_subject(deps, member, META)
    await handlers.register_subject(deps, orphan("s-3", date(2013, 3, 3), 13), META)
    girl = orphan("s-4", date(2015, 5, 5), 14).model_copy(
        update={"gender": Gender.female, "id_number": resident_id("622925", date(2015, 5, 5), True, 14)}
    )
    await handlers.register_subject(deps, girl, META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-2", Gender.female, name="李芳"), META)
    await handlers.register_cadre(deps, unit_leader("c-3", Gender.female, name="马兰"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-1", cadre_id="c-1"), META)
    await handlers.pair(deps, PairSubject(subject_id="s-3", cadre_id="c-2"), META)
    subjects = await deps.repo.subjects(["s-1", "s-2", "s-3", "s-4"])
    cadres = await deps.repo.cadres(["c-1", "c-2", "c-3"])
    views = [pairings.subject_view(s) for s in subjects.values()]
    pairs = [(v, c) for v in views for c in cadres.values()]
    async with deps.registries.committed() as registries:
        many = await registries.read_many(
            [v.subject_id for v in views],
            [v.household_id for v in views],
            list(cadres),
            women=True,
            versions=True,
        )
        for view, cadre in pairs:
            assert cadre.details is not None
            alone = await handlers.read_basis(registries, view, cadre, None)
            assert basis_of(many, view, cadre.cadre_id, cadre.details.gender) == alone, (
                view.subject_id,
                cadre,
            )
            assert many.versions[cadre.cadre_id] == await registries.cadre_version(cadre.cadre_id)
    # What the registries say, written down: the household of two held by c-1, s-3 by c-2, a
    # woman (c-3) free, so the girl offered the man c-1 has a woman instead.
    assert many.members["h-s-1"] == ("s-1", "s-2") and many.held == {"c-1": "h-s-1", "c-2": "h-s-3"}
    assert many.cadre_of == {"s-1": "c-1", "s-3": "c-2"}
    assert many.household_cadre("h-s-1", "s-2") == "c-1" and many.household_cadre("h-s-1", "s-1") is None
    assert [w.cadre_id for w in many.women] == ["c-3"]
    assert basis_of(many, views[3], "c-1", Gender.male).female_cadre_available
