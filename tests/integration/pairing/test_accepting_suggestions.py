"""Accepting suggestions in bulk gives what pairing them one by one gives, and races end cleanly.

`handlers.accept_suggestions` decides independent pairs together and appends them together;
pairs sharing a subject, a cadre or a household, or a girl's man and a woman, keep the order
given. Every test runs in memory, on SQLite and on PostgreSQL: the outcome of a batch is the
one written down here (and the one `pair` gives for each in turn); two requests racing for the
same cadre or subject end with one pairing and one refusal naming the rule; a basis that
changes between the reading and the commit is caught there and decided again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from services.pairing import handlers
from services.pairing.adapters.repository import PairingRepository
from services.pairing.domain import pairing as pairings
from services.pairing.domain.commands import PairSubject, RegisterCadre, RegisterSubject
from services.pairing.domain.ports import Registries, RegistryReader
from services.pairing.domain.refusals import Refused
from shared.contracts.people import CadreKind, Gender, Rank, RankTier, RankTitle
from shared.eventstore import Metadata
from tests.support.identity import resident_id
from tests.support.pairing_people import VILLAGE, orphan, unit_leader
from tests.support.pairing_world import TODAY, memory_deps, sql_deps

META = Metadata(actor="operator:test")


@asynccontextmanager
async def built(
    kind: str, request: pytest.FixtureRequest, url: URL | None
) -> AsyncIterator[handlers.PairingDeps]:
    if kind == "memory":
        async with memory_deps() as deps:
            yield deps
        return
    assert url is not None
    async with sql_deps(url) as deps:
        yield deps


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def deps(
    store: str, request: pytest.FixtureRequest, sqlite_url: URL
) -> AsyncIterator[handlers.PairingDeps]:
    url = (
        sqlite_url
        if store == "sqlite"
        else request.getfixturevalue("pg_url")
        if store == "postgres"
        else None
    )
    async with built(store, request, url) as made:
        yield made


def girl(subject_id: str, born: date, serial: int) -> RegisterSubject:
    """A girl orphan of VILLAGE, a household of her own."""
    boy = orphan(subject_id, born, serial)
    number = resident_id(VILLAGE.county_code, born, True, serial)
    return boy.model_copy(update={"gender": Gender.female, "name": "马小花", "id_number": number})


def clerk(cadre_id: str) -> RegisterCadre:
    """A party member below section rank (择优补充) linked with VILLAGE: no leader."""
    return unit_leader(cadre_id, name="赵科员").model_copy(
        update={
            "kind": CadreKind.unit_cadre,
            "rank": Rank(tier=RankTier.below_section, title=RankTitle.clerk_1),
        }
    )


async def people(deps: handlers.PairingDeps) -> None:
    """s-1 and s-2 share household h-a; s-3, g-1 and g-2 (girls) live alone; c-1, c-2 and c-4 are
    men (c-4 born 45 years before g-1), c-3 a woman; all of them leaders of VILLAGE's unit."""
    await handlers.register_subject(
        deps, orphan("s-1", date(2014, 1, 1), 11).model_copy(update={"household_id": "h-a"}), META
    )
    await handlers.register_subject(
        deps, orphan("s-2", date(2016, 2, 2), 12).model_copy(update={"household_id": "h-a"}), META
    )
    await handlers.register_subject(deps, orphan("s-3", date(2013, 3, 3), 13), META)
    await handlers.register_subject(deps, girl("g-1", date(2015, 5, 5), 14), META)
    await handlers.register_subject(deps, girl("g-2", date(2012, 6, 6), 15), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-2", name="王强"), META)
    await handlers.register_cadre(deps, unit_leader("c-3", Gender.female, name="李芳"), META)
    await handlers.register_cadre(deps, unit_leader("c-4", born=date(1970, 1, 1), name="张伟"), META)


PAIRS = [
    ("s-1", "c-1"),
    ("s-3", "c-1"),  # c-1 holds h-a now
    ("s-2", "c-1"),  # the same household, the same cadre
    ("s-3", "c-2"),
    ("s-1", "c-2"),  # s-1 is paired already
    ("s-nobody", "c-3"),
    ("g-1", "c-4"),  # a woman (c-3) is still free
    ("g-2", "c-3"),  # now she is not
    ("g-1", "c-4"),  # so a man 45 years older may take the girl
]
EXPECTED = [
    None,
    "cadre_already_paired",
    None,
    None,
    "subject_already_paired",
    "subject_unknown",
    "girl_needs_female_cadre",
    None,
    None,
]


def outcomes(results: Sequence[dict[str, Any]]) -> list[tuple[str, str, bool, frozenset[str]]]:
    return [
        (r["subject_id"], r["cadre_id"], r["accepted"], frozenset(x["code"] for x in r.get("refusals", ())))
        for r in results
    ]


async def one_by_one(deps: handlers.PairingDeps, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for subject_id, cadre_id in pairs:
        try:
            await handlers.pair(deps, PairSubject(subject_id=subject_id, cadre_id=cadre_id), META)
        except Refused as refused:
            codes = [{"code": r.code, "message": r.message} for r in refused.refusals]
            results.append(
                {"subject_id": subject_id, "cadre_id": cadre_id, "accepted": False, "refusals": codes}
            )
        else:
            results.append({"subject_id": subject_id, "cadre_id": cadre_id, "accepted": True})
    return results


async def test_a_batch_ends_as_the_written_outcome_and_as_one_by_one(
    deps: handlers.PairingDeps, store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    await people(deps)
    results = await handlers.accept_suggestions(deps, PAIRS, META)
    assert [(r["subject_id"], r["cadre_id"]) for r in results] == PAIRS
    for result, code in zip(results, EXPECTED, strict=True):
        if code is None:
            assert result["accepted"] and result["position"] > 0, result
        else:
            assert not result["accepted"] and code in {r["code"] for r in result["refusals"]}, result
    async with deps.registries.committed() as registries:
        assert await registries.paired_subjects("c-1") == ["s-1", "s-2"]
        assert await registries.paired_subjects("c-2") == ["s-3"]
        assert await registries.paired_subjects("c-3") == ["g-2"]
        assert await registries.paired_subjects("c-4") == ["g-1"]
    # The same people on a store of their own, paired one by one, end the same way.
    async with another(store, request, tmp_path) as url, built(store, request, url) as again:
        await people(again)
        assert outcomes(await one_by_one(again, PAIRS)) == outcomes(results)


@asynccontextmanager
async def another(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[URL | None]:
    """A second empty database of the same kind (none in memory), dropped afterwards."""
    if store == "memory":
        yield None
        return
    if store == "sqlite":
        yield URL.create("sqlite", database=str(tmp_path / "again.sqlite"))
        return
    server: URL = request.getfixturevalue("pg_server_url")
    url = server.set(database=f"carepair_test_{uuid.uuid4().hex[:12]}")
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{url.database}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def waves(pairs: Sequence[tuple[str, str]], deps_states: tuple[Any, Any]) -> list[list[int]]:
    return handlers.accepting_waves(pairs, *deps_states)


async def test_pairs_that_depend_on_one_another_go_in_later_waves(deps: handlers.PairingDeps) -> None:
    await people(deps)
    states = (
        await deps.repo.subjects(sorted({s for s, _ in PAIRS})),
        await deps.repo.cadres(sorted({c for _, c in PAIRS})),
    )
    # Each pair waits for the last earlier one sharing its subject, cadre or household; the girl
    # offered a man waits for every woman paired before her, a woman paired for every such girl.
    assert waves(PAIRS, states) == [[0, 5], [1, 6], [2, 3, 7], [4, 8]]


async def test_two_batches_racing_for_one_cadre_end_with_one_pairing(deps: handlers.PairingDeps) -> None:
    for n in range(4):
        await handlers.register_subject(deps, orphan(f"a-{n}", date(2014, 1, 1), 20 + 2 * n), META)
        await handlers.register_subject(deps, orphan(f"b-{n}", date(2014, 1, 1), 21 + 2 * n), META)
        await handlers.register_cadre(deps, unit_leader(f"c-{n}", name=f"李{n}"), META)
        one, other = await asyncio.gather(
            handlers.accept_suggestions(deps, [(f"a-{n}", f"c-{n}")], META),
            handlers.accept_suggestions(deps, [(f"b-{n}", f"c-{n}")], META),
        )
        [won] = [r for r in (*one, *other) if r["accepted"]]
        [lost] = [r for r in (*one, *other) if not r["accepted"]]
        assert {x["code"] for x in lost["refusals"]} == {"cadre_already_paired"}
        async with deps.registries.committed() as registries:
            assert await registries.paired_subjects(f"c-{n}") == [won["subject_id"]]


async def test_a_batch_racing_a_pairing_of_its_subject_ends_with_one(deps: handlers.PairingDeps) -> None:
    for n in range(4):
        await handlers.register_subject(deps, orphan(f"s-{n}", date(2014, 1, 1), 40 + n), META)
        await handlers.register_cadre(deps, unit_leader(f"c-{n}", name=f"李{n}"), META)
        await handlers.register_cadre(deps, unit_leader(f"d-{n}", name=f"王{n}"), META)
        batch, single = await asyncio.gather(
            handlers.accept_suggestions(deps, [(f"s-{n}", f"c-{n}")], META),
            handlers.pair(deps, PairSubject(subject_id=f"s-{n}", cadre_id=f"d-{n}"), META),
            return_exceptions=True,
        )
        assert isinstance(batch, list)
        [result] = batch
        if result["accepted"]:
            assert isinstance(single, Refused)
            assert "subject_already_paired" in {r.code for r in single.refusals}
            winner = f"c-{n}"
        else:
            assert not isinstance(single, BaseException), single
            assert "subject_already_paired" in {r["code"] for r in result["refusals"]}
            winner = f"d-{n}"
        async with deps.registries.committed() as registries:
            assert await registries.cadre_of(f"s-{n}") == winner


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


def interleaved(deps: handlers.PairingDeps, meanwhile: object) -> tuple[handlers.PairingDeps, Interleaved]:
    registries = Interleaved(deps.repo.registries, meanwhile)
    repo = PairingRepository(deps.repo.store, deps.repo.opener, registries)  # type: ignore[arg-type]
    return handlers.PairingDeps(repo=repo, engine=deps.engine, clock=deps.clock), registries


async def test_a_household_grown_between_the_reading_and_the_commit_is_caught(
    deps: handlers.PairingDeps,
) -> None:
    await handlers.register_subject(deps, orphan("s-1", date(2014, 1, 1), 11), META)
    await handlers.register_subject(deps, orphan("s-9", date(2015, 1, 1), 19), META)
    await handlers.register_cadre(deps, clerk("c-clerk"), META)
    await handlers.register_cadre(deps, unit_leader("c-lead", name="王强"), META)
    # Alone, s-1 may have a clerk; a second member registered meanwhile needs a leader.
    second = orphan("s-2", date(2016, 2, 2), 12).model_copy(update={"household_id": "h-s-1"})
    racing, registries = interleaved(deps, handlers.register_subject(deps, second, META))
    [clerk_for_s1, lead_for_s9] = await handlers.accept_suggestions(
        racing, [("s-1", "c-clerk"), ("s-9", "c-lead")], META
    )
    assert registries.readings >= 2  # decided on the old household, then again on the new one
    assert not clerk_for_s1["accepted"]
    assert {r["code"] for r in clerk_for_s1["refusals"]} == {"household_needs_leader"}
    assert lead_for_s9["accepted"]  # its own basis did not move: it committed on the first try
    async with deps.registries.committed() as reader:
        assert await reader.household("h-s-1") == ("s-1", "s-2")
        assert await reader.cadre_of("s-1") is None and await reader.cadre_of("s-9") == "c-lead"


async def test_a_cadre_paired_between_the_reading_and_the_commit_is_caught(
    deps: handlers.PairingDeps,
) -> None:
    await handlers.register_subject(deps, orphan("s-1", date(2014, 1, 1), 11), META)
    await handlers.register_subject(deps, orphan("s-2", date(2015, 1, 1), 12), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    rival = handlers.pair(deps, PairSubject(subject_id="s-2", cadre_id="c-1"), META)
    racing, registries = interleaved(deps, rival)
    [result] = await handlers.accept_suggestions(racing, [("s-1", "c-1")], META)
    assert registries.readings >= 2
    assert not result["accepted"]
    assert {r["code"] for r in result["refusals"]} == {"cadre_already_paired"}
    async with deps.registries.committed() as reader:
        assert await reader.paired_subjects("c-1") == ["s-2"]


async def test_pairings_committed_together_end_as_committed_one_after_another(
    deps: handlers.PairingDeps,
) -> None:
    """Appends started at once go in one store batch (on PostgreSQL their effects run together):
    each check and hold still sees the ones before it, as when they commit one by one."""
    for n, serial in ((1, 11), (2, 12), (3, 13), (4, 14)):
        await handlers.register_subject(deps, orphan(f"s-{n}", date(2014, 1, n), serial), META)
    await handlers.register_cadre(deps, unit_leader("c-1"), META)
    await handlers.register_cadre(deps, unit_leader("c-2", name="王强"), META)
    wanted = [("s-1", "c-1"), ("s-2", "c-1"), ("s-3", "c-2"), ("s-3", "c-2"), ("s-4", "c-2")]
    appends = []
    for subject_id, cadre_id in wanted:  # every one decided on the registries before any commits
        subject, cadre = await deps.repo.subject(subject_id), await deps.repo.cadre(cadre_id)
        context, check = await handlers.committed_context(deps, subject, cadre)
        command = PairSubject(subject_id=subject_id, cadre_id=cadre_id)
        events = pairings.decide_pair(subject, cadre, context, command, today=TODAY, operator="t")
        appends.append(deps.repo.append_subject(subject, events, META, check))
    outcomes = await asyncio.gather(*appends, return_exceptions=True)
    kinds = [type(o).__name__ if isinstance(o, BaseException) else "AppendResult" for o in outcomes]
    # c-1 went to s-1's household first; s-3's second append finds its stream moved; c-2 then
    # holds s-3's household, which s-4's check (or, failing that, the hold) refuses.
    assert kinds[0] == kinds[2] == "AppendResult"
    assert kinds[1] in {"StaleRead", "Refused"} and kinds[4] in {"StaleRead", "Refused"}
    assert kinds[3] == "ConcurrencyConflict"
    async with deps.registries.committed() as registries:
        assert await registries.paired_subjects("c-1") == ["s-1"]
        assert await registries.paired_subjects("c-2") == ["s-3"]
        assert await registries.held_by("c-1") == "h-s-1" and await registries.held_by("c-2") == "h-s-3"
