"""`python -m bench.bulk`: a generated province (`bench/province.py`) written into a pairing store.

One run fills a pairing database and its key store with a scale's people, from a seed:

1. **cadres**: every generated cadre registered (`decide_register`);
2. **subjects**: household by household, every subject registered, and most households paired
   (`--paired`, 90% by default): each with one cadre whose unit's links reach the household's
   village, checked by the pure rules (`check_pairing`, then `decide_pair`, which refuses what
   the rules refuse) with the household's members as context, one household per cadre, a
   woman for an orphan girl. Where no cadre's links reach the village, a free unit cadre of the
   county is placed there first, as the county office does (`decide_place`, `CadrePlaced`):
   a unit leader for a household of several, who the rules want; when the county has none
   left, a party-member cadre with the household rule overridden and the reason written
   (`RuleOverridden`). Every event comes from the domain's own `decide_*` functions;
3. **read models**: the pairing projection (`PAIRING_INDEX`) run over the whole log in pages
   of 1,000 events, each page in one transaction with its checkpoint, as the local consumer
   runs it;
4. **as run**: the relay's progress and the reactor's checkpoint recorded at the end of the
   log, as a service that had taken these commands one by one would have left them (its relay
   published each event, its reactor re-checked each placed cadre's pairing, which the rules
   had just allowed, so no review opens). Without this, a service started on a province
   spends its first hour there: the reactor re-checks 95,000 placements at about 30/s on this
   machine, and the relay publishes 880,000 events at about 1,000/s. `--fresh-service`
   leaves both at zero, to measure that catching up.

Two ways to write (`--path`):

- `store`: `SqlEventStore.append` through `PairingRepository.append_subject` / `append_cadre`,
  1,000 appends in flight, so the store group-commits them, each with the registries' effect;
- `bulk` (the default): per chunk of about 1,000 people, the chunk's payloads sealed in one
  `seal_many` (the people's data keys in the SQL key store), then one transaction that calls
  the store's own append function (`carepair_append_events`: positions dense, taken under the
  positions lock, every stream's expected version checked) once per round of the chunk
  (registrations, placements, pairings) and writes the registry rows that `changes_of` names
  for those events with one multi-row statement per table. The effect path runs one statement
  per registry change, one after the other (five for a pairing), which is what makes `store`
  slower; see docs/performance.md.

The people and the plan (who is paired with whom, who is placed where) are a pure function of
the scale and the seed; ids the domain draws (pairing ids, event ids) are random. The service
that later serves this database must use the same master key: `bench_master_key(seed)`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL

from bench.infra import code_version, contention, dsn, machine, postgres_server_url
from bench.province import SCALES, Scale, cadres, subjects
from services.pairing.adapters.registries import (
    Fingerprints,
    SqlRegistries,
    cadre_row,
    cadre_stream,
    subject_stream,
)
from services.pairing.adapters.repository import PairingRepository
from services.pairing.bootstrap import SPEC, fingerprint_secret
from services.pairing.domain import cadre as cadre_domain
from services.pairing.domain import pairing as pairing_domain
from services.pairing.domain import subject as subject_domain
from services.pairing.domain.commands import PairSubject, PlaceCadre, RegisterSubject
from services.pairing.domain.registry import (
    ChangeCadre,
    ClaimCadre,
    ClaimIdNumber,
    EnrolCadre,
    Hold,
    JoinHousehold,
    RegistryChange,
    changes_of,
)
from services.pairing.domain.rules import ORPHANS_ONLY, CadreView, PairingContext, SubjectView, check_pairing
from services.pairing.projections import PAIRING_INDEX
from shared.contracts import CONTRACTS
from shared.contracts.base import EventPayload
from shared.contracts.people import CadreKind, Gender, Links, SubjectCategory
from shared.database import create_engine_for, migrate, service_database_url
from shared.eventstore import EVENTSTORE_MIGRATIONS, Metadata
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging import checkpoints
from shared.messaging.projection import ProjectionRunner
from shared.messaging.relay import SqlRelayProgress
from shared.personal import KEYSTORE_MIGRATIONS, MasterKey, PayloadSealer, SqlKeyStore

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 30)
ACTOR = "operator:bulk-load"
PLACEMENT_REASON = "县结对关爱领导小组办公室统筹安排：联系关爱对象所在村"
HOUSEHOLD_REASON = "本县暂无可结对的领导干部，经县结对关爱领导小组办公室研究，由单位党员干部结对"
CHUNK = 1000  # people per transaction (bulk) or appends in flight (store)
PAGE = 1000  # events per projection transaction, as the local consumer reads them
ANALYZE_EVERY = 50  # pages between ANALYZEs of the read models while they fill
_APPEND_EVENTS = "SELECT versions, firsts FROM carepair_append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)"


def bench_master_key(seed: int) -> str:
    """The master key of a bench load: derived from the seed, so a later run can open it. Bench only."""
    return base64.b64encode(hashlib.sha256(f"carepair bench master key {seed}".encode()).digest()).decode()


def databases(base: URL) -> tuple[URL, URL]:
    """The pairing database and the key store of a base URL, named as the service derives them."""
    rendered = base.render_as_string(hide_password=False)
    return (
        service_database_url("pairing", rendered, None, Path("var")),
        service_database_url("keys", rendered, None, Path("var")),
    )


# --- progress -----------------------------------------------------------------------------


class Progress:
    """Prints a line every few seconds: what is done, the rate, and the time left."""

    def __init__(self, stage: str, total: int, unit: str, every: float = 3.0) -> None:
        self.stage, self.total, self.unit, self.every = stage, total, unit, every
        self.began = self.last = time.perf_counter()
        self.done = 0
        self.events = 0

    def add(self, done: int, events: int = 0) -> None:
        self.done += done
        self.events += events
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            print(self.line(now), flush=True)

    def line(self, now: float) -> str:
        seconds = max(now - self.began, 1e-9)
        rate = self.done / seconds
        left = (self.total - self.done) / rate if rate else float("inf")
        events = f", {self.events / seconds:,.0f} events/s" if self.events else ""
        return (
            f"  {self.stage}: {self.done:,}/{self.total:,} {self.unit} ({rate:,.0f}/s{events}), "
            f"ETA {left:,.0f} s"
        )

    def result(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self.began
        print(f"{self.stage}: {self.done:,} {self.unit} in {seconds:,.1f} s", flush=True)
        out: dict[str, Any] = {
            self.unit: self.done,
            "seconds": round(seconds, 2),
            f"{self.unit}_per_second": round(self.done / seconds) if seconds else None,
        }
        if self.events:
            out |= {"events": self.events, "events_per_second": round(self.events / seconds)}
        return out


# --- the plan: who is paired with whom ----------------------------------------------------


def _county_of(links: Links) -> str | None:
    codes = links.township_codes or links.village_codes
    return codes[0][:6] if codes else (links.resident_township_code or "")[:6] or None


class _Free:
    """Cadre ids in order, taken once each; a taken id is skipped when met again."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.start = 0

    def first(self, taken: set[str], fits: Callable[[str], bool]) -> str | None:
        while self.start < len(self.ids) and self.ids[self.start] in taken:
            self.start += 1
        for index in range(self.start, len(self.ids)):
            cadre_id = self.ids[index]
            if cadre_id not in taken and fits(cadre_id):
                return cadre_id
        return None


@dataclass
class Pool:
    """The registered cadres, indexed by the places their links reach, and who is taken."""

    states: dict[str, cadre_domain.CadreState] = field(default_factory=dict)
    views: dict[str, CadreView] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    # Cadres whose own links reach a place (a village, or a township for the kinds the rules
    # let serve a whole township), by the place's code.
    orphans_only: dict[str, _Free] = field(default_factory=dict)
    resident: dict[str, _Free] = field(default_factory=dict)
    unit: dict[str, _Free] = field(default_factory=dict)
    # Unit cadres a county office can place anywhere in its county: (county, leader?) → ids.
    placeable: dict[tuple[str, bool], _Free] = field(default_factory=dict)

    def add(self, state: cadre_domain.CadreState) -> None:
        view = state.view()
        self.states[state.cadre_id], self.views[state.cadre_id] = state, view
        links = view.links

        def index(where: dict[Any, _Free], key: Any) -> None:
            where.setdefault(key, _Free()).ids.append(state.cadre_id)

        if view.kind in ORPHANS_ONLY:
            for code in (*links.township_codes, *links.village_codes):
                index(self.orphans_only, code)
        elif view.kind is CadreKind.resident_village_cadre:
            if links.resident_township_code:
                index(self.resident, links.resident_township_code)
        else:
            for code in links.village_codes:
                index(self.unit, code)
            county = _county_of(links)
            if county is not None and view.kind in (CadreKind.unit_leader, CadreKind.unit_cadre):
                index(self.placeable, (county, view.is_leader))


@dataclass(frozen=True)
class Choice:
    cadre_id: str
    placement: Links | None  # the links a county office gives the cadre first, if any
    overrides: dict[str, str]


def _passes(members: Sequence[SubjectView], cadre: CadreView, overrides: dict[str, str]) -> bool:
    """Whether every member may be paired with the cadre: no refusal but those overridden."""
    for member in members:
        context = PairingContext(household=tuple(members))
        for refusal in check_pairing(member, cadre, context):
            if not (refusal.overridable and refusal.code in overrides):
                return False
    return True


def choose(members: Sequence[SubjectView], pool: Pool) -> Choice | None:
    """A cadre for the household, by the rules: links that reach it first, then a placement."""
    place = members[0].responsible_place
    county = place.county_code
    several = len(members) > 1
    girl = any(m.category is SubjectCategory.orphan and m.gender is Gender.female for m in members)
    orphans = all(m.category is SubjectCategory.orphan for m in members)

    def woman_if_needed(cadre_id: str) -> bool:
        return not girl or pool.views[cadre_id].gender is Gender.female

    def fits(cadre_id: str) -> bool:
        return woman_if_needed(cadre_id) and _passes(members, pool.views[cadre_id], {})

    reaching: list[_Free | None] = []
    if orphans:
        reaching += [pool.orphans_only.get(place.village_code), pool.orphans_only.get(place.township_code)]
    reaching += [pool.resident.get(place.township_code), pool.unit.get(place.village_code)]
    # Leaders are kept for households of several, who need one; a lone subject takes any cadre,
    # a leader only when no one else is left.
    for leaders in (True,) if several else (False, True):
        for free in reaching:
            if free is None:
                continue
            found = free.first(
                pool.taken, lambda c, ok=leaders: (ok or not pool.views[c].is_leader) and fits(c)
            )
            if found is not None:
                return Choice(found, None, {})
    links = Links(village_codes=(place.village_code,))
    tries: list[tuple[bool, dict[str, str]]]
    if several:
        tries = [(True, {}), (False, {"household_needs_leader": HOUSEHOLD_REASON})]
    else:
        tries = [(False, {}), (True, {})]
    for leader, overrides in tries:
        free = pool.placeable.get((county, leader))
        if free is None:
            continue

        def placed_fits(cadre_id: str, overrides: dict[str, str] = overrides) -> bool:
            if not woman_if_needed(cadre_id):
                return False
            view = pool.views[cadre_id]
            return _passes(members, dataclasses.replace(view, links=links), overrides)

        if (found := free.first(pool.taken, placed_fits)) is not None:
            return Choice(found, links, overrides)
    return None


# --- one chunk's events -------------------------------------------------------------------


@dataclass
class Append:
    """One append: a stream, the version it expects, the events."""

    stream_id: str
    expected: int
    events: list[EventPayload]
    person_id: str
    kind: str  # "subject" or "cadre"


@dataclass
class Counts:
    subjects: int = 0
    cadres: int = 0
    households: int = 0
    paired_subjects: int = 0
    paired_households: int = 0
    unpaired_households: int = 0
    left_waiting: int = 0
    placed_cadres: int = 0
    overrides: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def households(commands: Iterable[RegisterSubject]) -> Iterator[list[RegisterSubject]]:
    """The generator's subjects, household by household (it yields each household's together)."""
    current: list[RegisterSubject] = []
    for command in commands:
        if current and command.household_id != current[0].household_id:
            yield current
            current = []
        current.append(command)
    if current:
        yield current


class Planner:
    """Decides a chunk of households: registrations, placements and pairings, as events."""

    def __init__(self, pool: Pool, seed: int, paired: float, today: date, counts: Counts) -> None:
        self.pool = pool
        self.rng = random.Random(seed * 104729 + 3)
        self.paired = paired
        self.today = today
        self.counts = counts
        self.claimed: set[str] = set()

    def chunk(self, homes: Sequence[list[RegisterSubject]]) -> list[list[Append]]:
        """The chunk's appends in rounds: registrations, then placements, then pairings."""
        registered: list[Append] = []
        placed: list[Append] = []
        pairs: list[Append] = []
        for members in homes:
            states = []
            for command in members:
                if command.id_number in self.claimed:  # the registry would refuse it
                    self.counts.refused["subject_duplicate"] += 1
                    continue
                self.claimed.add(command.id_number)
                state = subject_domain.SubjectState(command.subject_id)
                events = subject_domain.decide_register(state, command, self.today)
                for event in events:
                    state = subject_domain.evolve(state, event)
                registered.append(
                    Append(subject_stream(command.subject_id), 0, events, command.subject_id, "subject")
                )
                states.append(state)
            if not states:
                continue
            self.counts.subjects += len(states)
            self.counts.households += 1
            if self.rng.random() >= self.paired:
                self.counts.left_waiting += 1
                continue
            views = [pairing_domain.subject_view(s) for s in states]
            choice = choose(views, self.pool)
            if choice is None:
                self.counts.unpaired_households += 1
                continue
            pairs.extend(self._pair(states, choice, placed))
            self.counts.paired_households += 1
            self.counts.paired_subjects += len(states)
        return [registered, placed, pairs]

    def _pair(
        self, states: list[subject_domain.SubjectState], choice: Choice, placed: list[Append]
    ) -> list[Append]:
        pool = self.pool
        cadre = pool.states[choice.cadre_id]
        pool.taken.add(choice.cadre_id)
        if choice.placement is not None:
            command = PlaceCadre(cadre_id=cadre.cadre_id, links=choice.placement, reason=PLACEMENT_REASON)
            events = cadre_domain.decide_place(cadre, command)
            placed.append(
                Append(cadre_stream(cadre.cadre_id), cadre.version, events, cadre.cadre_id, "cadre")
            )
            for event in events:
                cadre = cadre_domain.evolve(cadre, event)
            pool.states[cadre.cadre_id] = cadre
            self.counts.placed_cadres += 1
        household = tuple(pairing_domain.subject_view(s) for s in states)
        appends = []
        for index, subject in enumerate(states):
            others = household[:index] + household[index + 1 :]
            context = PairingContext(
                household=(household[index], *others),
                cadre_household_id=subject.details.household_id if index else None,  # type: ignore[union-attr]
                household_cadre_id=cadre.cadre_id if index else None,
            )
            command = PairSubject(
                subject_id=subject.subject_id, cadre_id=cadre.cadre_id, overrides=choice.overrides
            )
            events = pairing_domain.decide_pair(
                subject, cadre, context, command, today=self.today, operator=ACTOR
            )
            self.counts.overrides += len(events) - 1
            appends.append(
                Append(
                    subject_stream(subject.subject_id), subject.version, events, subject.subject_id, "subject"
                )
            )
        return appends


def register_cadres(
    scale: Scale, seed: int, today: date, count: int | None, counts: Counts
) -> tuple[Pool, list[Append]]:
    """Every generated cadre registered (a duplicate the registry would refuse is left out)."""
    pool = Pool()
    appends: list[Append] = []
    claimed: set[tuple[str, date, str]] = set()
    for command in cadres(scale, seed, today, count):
        claim = (command.name, command.birth_date, command.unit_id)
        if claim in claimed:
            counts.refused["cadre_duplicate"] += 1
            continue
        claimed.add(claim)
        state = cadre_domain.CadreState(command.cadre_id)
        events = cadre_domain.decide_register(state, command)
        for event in events:
            state = cadre_domain.evolve(state, event)
        pool.add(state)
        appends.append(Append(cadre_stream(command.cadre_id), 0, events, command.cadre_id, "cadre"))
    counts.cadres = len(appends)
    return pool, appends


# --- writing ------------------------------------------------------------------------------


class BulkWriter:
    """Each chunk in one transaction: the store's append function per round, the registry rows."""

    def __init__(
        self, connection: asyncpg.Connection, sealer: PayloadSealer, fingerprints: Fingerprints
    ) -> None:
        self.connection = connection
        self.sealer = sealer
        self.fingerprints = fingerprints
        self.events = 0

    async def write(self, rounds: Sequence[Sequence[Append]]) -> int:
        payloads = [e for appends in rounds for a in appends for e in a.events]
        if not payloads:
            return 0
        datas = iter(await self.sealer.seal_many(payloads))
        written = 0
        async with self.connection.transaction():
            for appends in rounds:
                if not appends:
                    continue
                texts = [orjson.dumps(next(datas)).decode() for a in appends for _ in a.events]
                written += await self._append(appends, texts)
            await self._registries([a for appends in rounds for a in appends])
        self.events += written
        return written

    async def _append(self, appends: Sequence[Append], texts: list[str]) -> int:
        correlation = [Metadata(actor=ACTOR).correlation_id for _ in appends]
        versions, firsts = await self.connection.fetchrow(
            _APPEND_EVENTS,
            [a.stream_id for a in appends],
            [a.expected for a in appends],
            [len(a.events) for a in appends],
            correlation,
            [None] * len(appends),
            [ACTOR] * len(appends),
            [e.event_type for a in appends for e in a.events],
            [e.schema_version for a in appends for e in a.events],
            texts,
        )
        refused = [a.stream_id for a, first in zip(appends, firsts, strict=True) if first == 0]
        if refused:
            raise RuntimeError(f"{len(refused)} appends found their streams changed, e.g. {refused[0]}")
        return len(texts)

    async def _registries(self, appends: Sequence[Append]) -> None:
        """The registry rows of the chunk's events, as the effects would write them, table by table."""
        changes = (change for a in appends for change in changes_of(a.events))
        rows = _registry_rows(changes, self.fingerprints)
        text2 = ("text", "text")
        await self._insert(
            "subject_fingerprints", ("fingerprint", "subject_id"), text2, rows.subject_fingerprints
        )
        await self._insert("household_members", ("subject_id", "household_id"), text2, rows.household_members)
        await self._insert("cadre_fingerprints", ("fingerprint", "cadre_id"), text2, rows.cadre_fingerprints)
        registry = [
            tuple(json.dumps(v) if k == "links" else v for k, v in row.items()) for row in rows.cadre_registry
        ]
        types = ("text", "text", "text", "text", "text", "text", "boolean", "json", "boolean")
        await self._insert("cadre_registry", _REGISTRY_COLUMNS, types, registry)
        if rows.links:
            await self.connection.execute(
                "UPDATE cadre_registry AS r SET links = u.links::json "
                "FROM unnest($1::text[], $2::text[]) AS u(cadre_id, links) WHERE r.cadre_id = u.cadre_id",
                list(rows.links),
                [json.dumps(links) for links in rows.links.values()],
            )
        holdings = [(c, h, n) for c, (h, n) in rows.holdings.items()]
        columns = ("cadre_id", "household_id", "subjects")
        await self._insert("cadre_holdings", columns, ("text", "text", "int"), holdings)
        columns = ("subject_id", "pairing_id", "cadre_id", "household_id", "unit_id", "started_on")
        types = ("text", "uuid", "text", "text", "text", "date")
        await self._insert("active_pairings", columns, types, rows.active_pairings)

    async def _insert(
        self, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """One multi-row INSERT: each column as an array, unnested together."""
        if not rows:
            return
        arrays = [list(column) for column in zip(*rows, strict=True)]
        unnest = ", ".join(f"${i + 1}::{'text' if t == 'json' else t}[]" for i, t in enumerate(types))
        selected = ", ".join(f"{c}::json" if t == "json" else c for c, t in zip(columns, types, strict=True))
        await self.connection.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {selected} FROM unnest({unnest}) AS r({', '.join(columns)})",
            *arrays,
        )


_REGISTRY_COLUMNS = (
    "cadre_id",
    "unit_id",
    "kind",
    "gender",
    "tier",
    "title",
    "party_member",
    "links",
    "available",
)


@dataclass
class RegistryRows:
    subject_fingerprints: list[tuple[str, str]] = field(default_factory=list)
    household_members: list[tuple[str, str]] = field(default_factory=list)
    cadre_fingerprints: list[tuple[str, str]] = field(default_factory=list)
    cadre_registry: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, Any] = field(default_factory=dict)
    holdings: dict[str, tuple[str, int]] = field(default_factory=dict)
    active_pairings: list[tuple[Any, ...]] = field(default_factory=list)


def _registry_rows(changes: Iterable[RegistryChange], fingerprints: Fingerprints) -> RegistryRows:
    """What `SqlRegistries`' effect writes for each change, gathered per table.

    Only the changes a load makes: registrations, placements and new pairings.
    """
    rows = RegistryRows()
    for change in changes:
        match change:
            case ClaimIdNumber():
                rows.subject_fingerprints.append((fingerprints.of_id_number(change), change.subject_id))
            case JoinHousehold():
                rows.household_members.append((change.subject_id, change.household_id))
            case ClaimCadre():
                rows.cadre_fingerprints.append((fingerprints.of_cadre(change), change.cadre_id))
            case EnrolCadre():
                rows.cadre_registry.append(cadre_row(change.entry))
            case ChangeCadre() if (
                change.links is not None and change.unit_id is change.available is change.kind is None
            ):
                rows.links[change.cadre_id] = change.links.model_dump(mode="json")
            case Hold():
                household, held = rows.holdings.get(change.cadre_id, (change.household_id, 0))
                if household != change.household_id:
                    raise change.other_household()
                rows.holdings[change.cadre_id] = (household, held + 1)
                rows.active_pairings.append(
                    (
                        change.subject_id,
                        change.pairing_id,
                        change.cadre_id,
                        change.household_id,
                        change.unit_id,
                        change.started_on,
                    )
                )
            case _:
                raise ValueError(f"a bulk load makes no {type(change).__name__}")
    return rows


class StoreWriter:
    """Each round's appends through the repository, all in flight at once (the store groups them)."""

    def __init__(self, repo: PairingRepository) -> None:
        self.repo = repo
        self.events = 0

    async def write(self, rounds: Sequence[Sequence[Append]]) -> int:
        written = 0
        for appends in rounds:
            await asyncio.gather(*(self._one(a) for a in appends))
            written += sum(len(a.events) for a in appends)
        self.events += written
        return written

    async def _one(self, a: Append) -> None:
        meta = Metadata(actor=ACTOR)
        if a.kind == "subject":
            state = subject_domain.SubjectState(a.person_id, version=a.expected)
            await self.repo.append_subject(state, a.events, meta)
        else:
            cadre = cadre_domain.CadreState(a.person_id, version=a.expected)
            await self.repo.append_cadre(cadre, a.events, meta)


# --- the load -----------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def load(
    base: URL,
    scale: str,
    seed: int,
    *,
    today: date = TODAY,
    path: str = "bulk",
    paired: float = 0.9,
    subjects_count: int | None = None,
    cadres_count: int | None = None,
    chunk: int = CHUNK,
    as_run: bool = True,
) -> dict[str, Any]:
    """Fills `base`'s pairing database and key store (created and migrated) with a scale's people.

    `subjects_count` / `cadres_count` take only the first people of the scale (for small runs).
    Returns the counts and each stage's rate.
    """
    sizes = SCALES[scale]
    pairing_url, keys_url = databases(base)
    migrate(pairing_url, [EVENTSTORE_MIGRATIONS, *SPEC.migrations])
    migrate(keys_url, [KEYSTORE_MIGRATIONS])
    engine = create_engine_for(pairing_url, pool_size=4)
    keys_engine = create_engine_for(keys_url, pool_size=4)
    key = bench_master_key(seed)
    master = MasterKey.from_base64("k1", key)
    sealer = PayloadSealer(SqlKeyStore(keys_engine, master), "aes-256-gcm")
    fingerprints = Fingerprints(fingerprint_secret(key))
    store = SqlEventStore(engine, "pairing", sealer)
    await store.start()
    connection = await asyncpg.connect(dsn(pairing_url))
    counts = Counts()
    stages: dict[str, Any] = {}
    try:
        if await store.last_position() != 0:
            raise RuntimeError(f"{pairing_url.database} already holds events: a load needs an empty store")
        writer: BulkWriter | StoreWriter
        if path == "bulk":
            writer = BulkWriter(connection, sealer, fingerprints)
        else:
            writer = StoreWriter(
                PairingRepository(store, store_opener(sealer), SqlRegistries(engine, fingerprints))
            )
        began = time.perf_counter()
        pool, registrations = register_cadres(sizes, seed, today, cadres_count, counts)
        stages["generate_cadres"] = {
            "cadres": counts.cadres,
            "seconds": round(time.perf_counter() - began, 2),
        }
        progress = Progress("cadres", len(registrations), "cadres")
        for part in _chunks(registrations, chunk):
            progress.add(len(part), await writer.write([part]))
        stages["cadres"] = progress.result()
        del registrations
        planner = Planner(pool, seed, paired, today, counts)
        total = sizes.subjects if subjects_count is None else subjects_count
        progress = Progress("subjects", total, "subjects")
        plan_seconds = 0.0
        homes: list[list[RegisterSubject]] = []
        people = 0
        for home in households(subjects(sizes, seed, today, subjects_count)):
            homes.append(home)
            people += len(home)
            if people >= chunk:
                began = time.perf_counter()
                rounds = planner.chunk(homes)
                plan_seconds += time.perf_counter() - began
                progress.add(people, await writer.write(rounds))
                homes, people = [], 0
        if homes:
            began = time.perf_counter()
            rounds = planner.chunk(homes)
            plan_seconds += time.perf_counter() - began
            progress.add(people, await writer.write(rounds))
        stages["subjects"] = progress.result() | {"planning_seconds": round(plan_seconds, 2)}
        events = await store.last_position()
        stages["read_models"] = await project(engine, store, store_opener(sealer), events)
        if as_run:
            await mark_as_run(engine, events)
        began = time.perf_counter()
        await vacuum(pairing_url)
        stages["vacuum_analyze"] = {"seconds": round(time.perf_counter() - began, 2)}
    finally:
        await connection.close()
        await store.close()
        await engine.dispose()
        await keys_engine.dispose()
    return {
        "scale": scale,
        "seed": seed,
        "today": today.isoformat(),
        "path": path,
        "databases": {"pairing": pairing_url.database, "keys": keys_url.database},
        "events": events,
        "as_run": as_run,
        "counts": {
            **{k: v for k, v in counts.__dict__.items() if k != "refused"},
            "refused": dict(counts.refused),
            "paired_share": round(counts.paired_subjects / counts.subjects, 3) if counts.subjects else None,
        },
        "stages": stages,
    }


async def vacuum(pairing: URL) -> None:
    """VACUUM ANALYZE after the load, as after any bulk load: fresh statistics for the planner, and
    the visibility map set, so index-only scans need not visit the table (autovacuum would get
    there too, later)."""
    connection = await asyncpg.connect(dsn(pairing))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()


async def mark_as_run(engine: Any, last: int) -> None:
    """The relay's progress and every reactor's checkpoint at `last`, as a running service leaves them."""
    await SqlRelayProgress(engine).save(last)
    for reactor in SPEC.reactors:
        await checkpoints.ensure_rows(engine, reactor.name, [SPEC.name])
        async with engine.begin() as conn:
            await checkpoints.advance(conn, reactor.name, SPEC.name, last)


def store_opener(sealer: PayloadSealer) -> EventOpener:
    return EventOpener(CONTRACTS, sealer)


async def project(engine: Any, store: SqlEventStore, opener: EventOpener, events: int) -> dict[str, Any]:
    """The pairing read models from the whole log, a page per transaction, as the local consumer."""
    runner = ProjectionRunner(engine, PAIRING_INDEX, opener)
    await runner.start()
    progress = Progress("read models", events, "events")
    position = runner.position("pairing")
    pages = 0
    while position < events:
        page = await store.read_after(position, PAGE)
        await runner.apply("pairing", page)
        position = page[-1].position
        progress.add(len(page))
        pages += 1
        if pages % ANALYZE_EVERY == 0:
            await analyze(engine)
    return progress.result()


async def analyze(engine: Any) -> None:
    """Fresh statistics for the read models while they grow from nothing.

    Each page loads the rows it touches with `IN` queries. Planned on the statistics of tables
    that were empty, those queries scan the whole table: at province size the load of
    `subject_index` took 0.8 s a page once it held 120,000 rows, and the projection fell from
    3,400 to 1,300 events/s, with autovacuum's analyze not yet run.
    """
    async with engine.begin() as conn:
        for table in ("subject_index", "cadre_index", "pairing_history", "rule_overrides", "reviews"):
            await conn.execute(sa.text(f"ANALYZE {table}"))


# --- the command line ---------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="county")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--path", choices=("bulk", "store"), default="bulk")
    parser.add_argument("--paired", type=float, default=0.9, help="share of households to pair")
    parser.add_argument("--today", type=date.fromisoformat, default=TODAY)
    parser.add_argument(
        "--database",
        help="base database name (default carepair_bulk_<scale>_<seed>); the load writes "
        "<base>_pairing and <base>_keys, which must not hold events yet, and leaves them for bench.reading",
    )
    parser.add_argument(
        "--fresh-service",
        action="store_true",
        help="leave the relay's progress and the reactor's checkpoint at zero (a service then catches up)",
    )
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    base = server.set(database=args.database or f"carepair_bulk_{args.scale}_{args.seed}")
    loaded = await load(
        base,
        args.scale,
        args.seed,
        today=args.today,
        path=args.path,
        paired=args.paired,
        as_run=not args.fresh_service,
    )
    return {
        "schema": 1,
        "bench": "bulk",
        "started_at": started.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, "not used"),
        "contention": {"before": before, "after": contention()},
        **loaded,
    }


def entry(argv: list[str]) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    output = (
        args.output
        or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M}-vm-bulk-{args.scale}.json"
    )
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
