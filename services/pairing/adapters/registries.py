"""The registries in the service's database: committed reads, and the changes each append makes.

The same reads serve a command before it decides (on a connection of its own) and the check
at commit (on the append's own connection, under the store's append lock). The changes are
those `services/pairing/domain/registry.py` computes from the appended events; a unique key or
a locked row refuses what the rules refuse, with the refusal the domain names.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.pairing.adapters.tables import (
    active_pairings,
    cadre_fingerprints,
    cadre_holdings,
    cadre_registry,
    household_members,
    subject_fingerprints,
)
from services.pairing.domain.basis import Registered
from services.pairing.domain.ports import Check, Effect
from services.pairing.domain.refusals import Refused
from services.pairing.domain.registry import (
    CadreEntry,
    ChangeCadre,
    ClaimCadre,
    ClaimIdNumber,
    EnrolCadre,
    Hold,
    JoinHousehold,
    LeaveHousehold,
    MoveHousehold,
    RegistryChange,
    Release,
    ReleaseIdNumber,
)
from services.pairing.domain.rules import CadreView
from shared.contracts.people import CadreKind, Gender, Links, Rank, RankTier, RankTitle
from shared.database import dialect_insert
from shared.eventstore import ConcurrencyConflict
from shared.eventstore.schema import events


def subject_stream(subject_id: str) -> str:
    return f"subject-{subject_id}"


def cadre_stream(cadre_id: str) -> str:
    return f"cadre-{cadre_id}"


class Fingerprints:
    """Keyed hashes of identifying details, so duplicates are found without storing them."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def of(self, *parts: str) -> str:
        text = "\x1f".join(p.strip().upper() for p in parts)
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def of_id_number(self, claim: ClaimIdNumber) -> str:
        return self.of(claim.id_number)

    def of_cadre(self, claim: ClaimCadre) -> str:
        return self.of(claim.name, claim.birth_date.isoformat(), claim.unit_id)


class SqlRegistryReader:
    """The registries as `conn` sees them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @property
    def conn(self) -> AsyncConnection:
        return self._conn

    async def household(self, household_id: str) -> tuple[str, ...]:
        rows = await self._conn.execute(
            sa.select(household_members.c.subject_id)
            .where(household_members.c.household_id == household_id)
            .order_by(household_members.c.subject_id)
        )
        return tuple(rows.scalars())

    async def cadre_of(self, subject_id: str) -> str | None:
        query = sa.select(active_pairings.c.cadre_id).where(active_pairings.c.subject_id == subject_id)
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def held_by(self, cadre_id: str) -> str | None:
        query = sa.select(cadre_holdings.c.household_id).where(cadre_holdings.c.cadre_id == cadre_id)
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def household_cadre(self, household_id: str, besides: str) -> str | None:
        query = (
            sa.select(active_pairings.c.cadre_id)
            .where(active_pairings.c.household_id == household_id, active_pairings.c.subject_id != besides)
            .order_by(active_pairings.c.cadre_id)
            .limit(1)
        )
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def free_women(self, excluding: str, unit_id: str | None = None) -> list[CadreView]:
        return await self._women(unit_id, excluding)

    async def _women(self, unit_id: str | None, excluding: str | None = None) -> list[CadreView]:
        query = sa.select(cadre_registry).where(
            cadre_registry.c.gender == Gender.female.value,
            cadre_registry.c.available.is_(True),
            cadre_registry.c.cadre_id.not_in(sa.select(cadre_holdings.c.cadre_id)),
        )
        if excluding is not None:
            query = query.where(cadre_registry.c.cadre_id != excluding)
        if unit_id is not None:
            query = query.where(cadre_registry.c.unit_id == unit_id)
        rows = await self._conn.execute(query.order_by(cadre_registry.c.cadre_id))
        return [_view(row) for row in rows.mappings()]

    async def paired_subjects(self, cadre_id: str) -> list[str]:
        rows = await self._conn.execute(
            sa.select(active_pairings.c.subject_id)
            .where(active_pairings.c.cadre_id == cadre_id)
            .order_by(active_pairings.c.subject_id)
        )
        return list(rows.scalars())

    async def cadre_version(self, cadre_id: str) -> int:
        return await stream_version(self._conn, cadre_stream(cadre_id))

    async def read_many(
        self,
        subject_ids: Collection[str],
        household_ids: Collection[str],
        cadre_ids: Collection[str],
        *,
        women: bool = False,
        unit_id: str | None = None,
        versions: bool = False,
    ) -> Registered:
        """One statement, a UNION ALL of tagged rows (`_facts`); a second one for the women."""
        subjects, households, cadres = (
            sorted(set(subject_ids)),
            sorted(set(household_ids)),
            sorted(set(cadre_ids)),
        )
        members: dict[str, list[str]] = {h: [] for h in households}
        cadre_of: dict[str, str] = {}
        pairings: dict[str, list[tuple[str, str]]] = {h: [] for h in households}
        held: dict[str, str] = {}
        found_versions: dict[str, int] = {}
        for start in range(0, max(len(subjects), len(households), len(cadres)), _READ_MANY):
            query = _facts(
                subjects[start : start + _READ_MANY],
                households[start : start + _READ_MANY],
                cadres[start : start + _READ_MANY],
                versions=versions,
                dialect=self._conn.dialect.name,
            )
            if query is None:
                continue
            for kind, a, b, c in await self._conn.execute(query):
                if kind == "m":
                    members[a].append(b)
                elif kind == "p":
                    cadre_of[b] = c
                    pairings.setdefault(a, []).append((b, c))
                elif kind == "h":
                    held[a] = b
                else:
                    found_versions[a.removeprefix("cadre-")] = int(c)
        return Registered(
            members={h: tuple(sorted(m)) for h, m in members.items()},
            cadre_of=cadre_of,
            household_pairings={h: tuple(sorted(set(p))) for h, p in pairings.items()},
            held=held,
            women=tuple(await self._women(unit_id)) if women else (),
            versions={c: found_versions.get(c, 0) for c in cadres} if versions else {},
        )


class SqlRegistries:
    """The registries in the tables of the service's database."""

    def __init__(self, engine: AsyncEngine, fingerprints: Fingerprints) -> None:
        self.engine = engine
        self.fingerprints = fingerprints

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[SqlRegistryReader]:
        async with self.engine.connect() as conn:
            yield SqlRegistryReader(conn)

    def effect(self, changes: Sequence[RegistryChange], check: Check | None = None) -> Effect:
        return _Changes(self, changes, check)

    async def together(self, conn: AsyncConnection, effects: Sequence[Any]) -> list[Exception | None]:
        """New registrations at once: the claims in one insert each, then the rows of those that won.

        What running each in turn does: a claim refused by a committed row, or by an earlier
        registration of the run, refuses its registration, which then changes nothing.
        """
        failures: list[Exception | None] = [None] * len(effects)
        subjects = [(i, c) for i, e in enumerate(effects) for c in e.changes if isinstance(c, ClaimIdNumber)]
        cadres = [(i, c) for i, e in enumerate(effects) for c in e.changes if isinstance(c, ClaimCadre)]
        fingerprint = self.fingerprints
        won = await _claim_many(
            conn,
            subject_fingerprints,
            "subject_id",
            [(fingerprint.of_id_number(c), c.subject_id) for _, c in subjects],
        )
        for i, subject_claim in subjects:
            if subject_claim.subject_id not in won:
                failures[i] = subject_claim.refused()
        won = await _claim_many(
            conn, cadre_fingerprints, "cadre_id", [(fingerprint.of_cadre(c), c.cadre_id) for _, c in cadres]
        )
        for i, cadre_claim in cadres:
            if cadre_claim.cadre_id not in won:
                failures[i] = cadre_claim.refused()
        standing = [e for i, e in enumerate(effects) if failures[i] is None]
        members = [
            {"subject_id": c.subject_id, "household_id": c.household_id}
            for e in standing
            for c in e.changes
            if isinstance(c, JoinHousehold)
        ]
        enrolled = [cadre_row(c.entry) for e in standing for c in e.changes if isinstance(c, EnrolCadre)]
        for table, rows in ((household_members, members), (cadre_registry, enrolled)):
            if rows:
                await conn.execute(sa.insert(table), rows)
        return failures

    async def holds_together(self, conn: AsyncConnection, effects: Sequence[Any]) -> list[Exception | None]:
        """New pairings at once, as running each in turn: its check, then its hold.

        The registries the checks and holds read are read for all of them at once (`_Overlay`),
        each check reads them with the holds before it applied, and the holds that stand are
        written in two statements. A check or hold that refuses changes nothing.
        """
        holds: list[Hold] = [e.changes[0] for e in effects]
        overlay = _Overlay(SqlRegistryReader(conn))
        await overlay.load(holds)
        failures: list[Exception | None] = []
        for effect, hold in zip(effects, holds, strict=True):
            try:
                if effect.check is not None:
                    await effect.check(overlay)
                await overlay.hold(hold)
            except (Refused, ConcurrencyConflict) as refused:
                failures.append(refused)
            else:
                failures.append(None)
        await overlay.write()
        return failures


class _Overlay:
    """The registries as committed before a run of holds, with the holds applied so far.

    What a check asks is read from the database once (the run's own rows are not written
    until `write`, so the database still shows the state before the run) and the holds
    applied since are laid over it.
    """

    def __init__(self, base: SqlRegistryReader) -> None:
        self._base = base
        self._subjects: set[str] = set()
        self._households: set[str] = set()
        self._cadres: set[str] = set()
        self._members: dict[str, tuple[str, ...]] = {}
        self._cadre_of: dict[str, str | None] = {}
        self._pairings: dict[str, list[tuple[str, str]]] = {}
        self._held: dict[str, str | None] = {}
        self._versions: dict[str, int] = {}
        self._available: dict[str, bool] = {}
        self._women: dict[str | None, list[CadreView]] = {}
        self._holds: list[Hold] = []  # applied, in order

    async def load(self, holds: Sequence[Hold]) -> None:
        """Reads what the holds and their checks name, and locks their cadres' rows."""
        cadres = sorted({h.cadre_id for h in holds})
        await self._ensure([h.subject_id for h in holds], [h.household_id for h in holds], cadres)
        rows = await self._base.conn.execute(
            sa.select(cadre_registry.c.cadre_id, cadre_registry.c.available)
            .where(_among(cadre_registry.c.cadre_id, cadres, self._base.conn.dialect.name))
            .with_for_update()
        )
        self._available = {cadre_id: available for cadre_id, available in rows}

    async def _ensure(
        self, subject_ids: Collection[str], household_ids: Collection[str], cadre_ids: Collection[str]
    ) -> None:
        subjects = sorted(set(subject_ids) - self._subjects)
        households = sorted(set(household_ids) - self._households)
        cadres = sorted(set(cadre_ids) - self._cadres)
        if not (subjects or households or cadres):
            return
        read = await self._base.read_many(subjects, households, cadres, versions=True)
        for subject_id in subjects:
            self._cadre_of[subject_id] = read.cadre_of.get(subject_id)
        for household_id in households:
            self._members[household_id] = read.members.get(household_id, ())
            self._pairings[household_id] = list(read.household_pairings.get(household_id, ()))
        for cadre_id in cadres:
            self._held[cadre_id] = read.held.get(cadre_id)
            self._versions[cadre_id] = read.versions.get(cadre_id, 0)
        self._subjects.update(subjects)
        self._households.update(households)
        self._cadres.update(cadres)

    async def hold(self, hold: Hold) -> None:
        """As `_hold`, on the overlay: refused as it refuses, else applied."""
        await self._ensure([hold.subject_id], [hold.household_id], [hold.cadre_id])
        if self._available.get(hold.cadre_id) is False:
            raise hold.unavailable()
        held = self._held[hold.cadre_id]
        if held is not None and held != hold.household_id:
            raise hold.other_household()
        if self._cadre_of[hold.subject_id] is not None:
            raise hold.already_paired()
        self._held[hold.cadre_id] = hold.household_id
        self._cadre_of[hold.subject_id] = hold.cadre_id
        self._pairings[hold.household_id].append((hold.subject_id, hold.cadre_id))
        self._holds.append(hold)

    async def write(self) -> None:
        """The holds applied: each cadre's holding counted up, the pairings inserted."""
        if not self._holds:
            return
        counts: dict[str, int] = {}
        for hold in self._holds:
            counts[hold.cadre_id] = counts.get(hold.cadre_id, 0) + 1
        households = {hold.cadre_id: hold.household_id for hold in self._holds}
        insert = dialect_insert(self._base.conn.dialect.name)(cadre_holdings)
        upsert = insert.on_conflict_do_update(
            index_elements=[cadre_holdings.c.cadre_id],
            set_={"subjects": cadre_holdings.c.subjects + insert.excluded.subjects},
        )
        rows = [{"cadre_id": c, "household_id": households[c], "subjects": n} for c, n in counts.items()]
        await self._base.conn.execute(upsert, rows)
        pairings = [
            {
                "subject_id": hold.subject_id,
                "pairing_id": hold.pairing_id,
                "cadre_id": hold.cadre_id,
                "household_id": hold.household_id,
                "unit_id": hold.unit_id,
                "started_on": hold.started_on,
            }
            for hold in self._holds
        ]
        await self._base.conn.execute(sa.insert(active_pairings), pairings)

    # --- the reader the checks see ---

    async def read_many(
        self,
        subject_ids: Collection[str],
        household_ids: Collection[str],
        cadre_ids: Collection[str],
        *,
        women: bool = False,
        unit_id: str | None = None,
        versions: bool = False,
    ) -> Registered:
        await self._ensure(subject_ids, household_ids, cadre_ids)
        cadre_of = {s: c for s in subject_ids if (c := self._cadre_of[s]) is not None}
        return Registered(
            members={h: self._members[h] for h in household_ids},
            cadre_of=cadre_of,
            household_pairings={h: tuple(sorted(self._pairings[h])) for h in household_ids},
            held={c: h for c in cadre_ids if (h := self._held[c]) is not None},
            women=tuple(await self.free_women(excluding="", unit_id=unit_id)) if women else (),
            versions={c: self._versions[c] for c in cadre_ids} if versions else {},
        )

    async def household(self, household_id: str) -> tuple[str, ...]:
        return (await self.read_many([], [household_id], [])).members[household_id]

    async def cadre_of(self, subject_id: str) -> str | None:
        return (await self.read_many([subject_id], [], [])).cadre_of.get(subject_id)

    async def held_by(self, cadre_id: str) -> str | None:
        return (await self.read_many([], [], [cadre_id])).held.get(cadre_id)

    async def household_cadre(self, household_id: str, besides: str) -> str | None:
        return (await self.read_many([], [household_id], [])).household_cadre(household_id, besides)

    async def free_women(self, excluding: str, unit_id: str | None = None) -> list[CadreView]:
        if unit_id not in self._women:
            self._women[unit_id] = await self._base.free_women(excluding="", unit_id=unit_id)
        taken = {hold.cadre_id for hold in self._holds}
        return [w for w in self._women[unit_id] if w.cadre_id not in taken and w.cadre_id != excluding]

    async def paired_subjects(self, cadre_id: str) -> list[str]:
        added = [hold.subject_id for hold in self._holds if hold.cadre_id == cadre_id]
        return sorted([*await self._base.paired_subjects(cadre_id), *added])

    async def cadre_version(self, cadre_id: str) -> int:
        await self._ensure([], [], [cadre_id])
        return self._versions[cadre_id]


async def _claim_many(
    conn: AsyncConnection, table: sa.Table, key: str, claims: list[tuple[str, str]]
) -> set[str]:
    """Inserts (fingerprint, owner) rows, skipping any a unique key refuses; the owners that won."""
    if not claims:
        return set()
    rows = [{"fingerprint": fingerprint, key: owner} for fingerprint, owner in claims]
    # One statement, sent as executemany: SQLAlchemy batches the rows into multi-row inserts
    # with a cached compilation, in the order given (the first claim of a fingerprint wins).
    insert = dialect_insert(conn.dialect.name)(table).on_conflict_do_nothing().returning(table.c[key])
    return set((await conn.execute(insert, rows)).scalars())


# The changes a registration makes, which a run of registrations makes at once (`together`).
_REGISTERING = (ClaimIdNumber, JoinHousehold, ClaimCadre, EnrolCadre)


class _Changes:
    """An append's registry changes (and check); new registrations also run together."""

    def __init__(
        self, registries: SqlRegistries, changes: Sequence[RegistryChange], check: Check | None
    ) -> None:
        self.changes = changes
        self.check = check
        self.fingerprints = registries.fingerprints
        if check is None and changes and all(isinstance(c, _REGISTERING) for c in changes):
            self.together = registries.together
        elif len(changes) == 1 and isinstance(changes[0], Hold):
            self.together = registries.holds_together

    async def __call__(self, conn: AsyncConnection | None) -> None:
        if conn is None:
            raise TypeError("the SQL registries change only inside a SQL store's append")
        if self.check is not None:
            await self.check(SqlRegistryReader(conn))
        for change in self.changes:
            await _apply(conn, self.fingerprints, change)


_READ_MANY = 500  # subjects, households and cadres per statement of `read_many`
_TEXT = sa.String()


def _among(column: Any, values: list[str], dialect: str) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)`, one statement text for any number of
    values, so its compilation and its prepared statement are made once, not once per length."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String)))
    return column.in_(values)


def _facts(
    subjects: list[str], households: list[str], cadres: list[str], *, versions: bool, dialect: str
) -> sa.CompoundSelect | sa.Select[Any] | None:
    """The registries' rows for these, tagged: ("m", household, subject) a member,
    ("p", household, subject, cadre) an active pairing of a household or a subject,
    ("h", cadre, household) a holding, ("v", cadre stream, -, version) a cadre's version."""
    none = sa.cast(sa.null(), _TEXT)
    parts: list[sa.Select[Any]] = []
    if households:
        parts.append(
            sa.select(
                sa.literal("m", _TEXT), household_members.c.household_id, household_members.c.subject_id, none
            ).where(_among(household_members.c.household_id, households, dialect))
        )
    if households or subjects:
        parts.append(
            sa.select(
                sa.literal("p", _TEXT),
                active_pairings.c.household_id,
                active_pairings.c.subject_id,
                active_pairings.c.cadre_id,
            ).where(
                sa.or_(
                    _among(active_pairings.c.household_id, households, dialect),
                    _among(active_pairings.c.subject_id, subjects, dialect),
                )
            )
        )
    if cadres:
        parts.append(
            sa.select(
                sa.literal("h", _TEXT), cadre_holdings.c.cadre_id, cadre_holdings.c.household_id, none
            ).where(_among(cadre_holdings.c.cadre_id, cadres, dialect))
        )
    if cadres and versions:
        parts.append(
            sa.select(
                sa.literal("v", _TEXT),
                events.c.stream_id,
                none,
                sa.cast(sa.func.max(events.c.stream_version), _TEXT),
            )
            .where(_among(events.c.stream_id, [cadre_stream(c) for c in cadres], dialect))
            .group_by(events.c.stream_id)
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else sa.union_all(*parts)


async def available_cadres(conn: AsyncConnection, unit_id: str) -> list[str]:
    """The cadres of a unit who can take a pairing, in id order."""
    query = (
        sa.select(cadre_registry.c.cadre_id)
        .where(cadre_registry.c.unit_id == unit_id, cadre_registry.c.available.is_(True))
        .order_by(cadre_registry.c.cadre_id)
    )
    return list((await conn.execute(query)).scalars())


async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
    """How many events the stream holds, as committed."""
    query = sa.select(sa.func.max(events.c.stream_version)).where(events.c.stream_id == stream_id)
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


def cadre_row(entry: CadreEntry) -> dict[str, Any]:
    """The registry row of a cadre."""
    return {
        "cadre_id": entry.cadre_id,
        "unit_id": entry.unit_id,
        "kind": entry.kind.value,
        "gender": entry.gender.value,
        "tier": entry.rank.tier.value,
        "title": entry.rank.title.value,
        "party_member": entry.party_member,
        "links": entry.links.model_dump(mode="json"),
        "available": entry.available,
    }


def _view(row: Any) -> CadreView:
    """The rules' view of a registry row: no name or birth date (the age rule is for men)."""
    return CadreView(
        cadre_id=row["cadre_id"],
        name="",
        kind=CadreKind(row["kind"]),
        gender=Gender(row["gender"]),
        birth_date=date(1900, 1, 1),
        rank=Rank(tier=RankTier(row["tier"]), title=RankTitle(row["title"])),
        party_member=row["party_member"],
        links=Links.model_validate(row["links"]),
    )


async def _apply(conn: AsyncConnection, fingerprints: Fingerprints, change: RegistryChange) -> None:
    match change:
        case ClaimIdNumber():
            row = {"fingerprint": fingerprints.of_id_number(change), "subject_id": change.subject_id}
            await _claim(conn, sa.insert(subject_fingerprints).values(row), change.refused())
        case ReleaseIdNumber():
            await conn.execute(
                sa.delete(subject_fingerprints).where(subject_fingerprints.c.subject_id == change.subject_id)
            )
        case JoinHousehold():
            await conn.execute(
                sa.insert(household_members).values(
                    subject_id=change.subject_id, household_id=change.household_id
                )
            )
        case MoveHousehold():
            await conn.execute(
                sa.update(household_members)
                .where(household_members.c.subject_id == change.subject_id)
                .values(household_id=change.household_id)
            )
        case LeaveHousehold():
            await conn.execute(
                sa.delete(household_members).where(household_members.c.subject_id == change.subject_id)
            )
        case ClaimCadre():
            row = {"fingerprint": fingerprints.of_cadre(change), "cadre_id": change.cadre_id}
            await _claim(conn, sa.insert(cadre_fingerprints).values(row), change.refused())
        case EnrolCadre():
            await conn.execute(sa.insert(cadre_registry).values(**cadre_row(change.entry)))
        case ChangeCadre():
            await _change_cadre(conn, change)
        case Hold():
            await _hold(conn, change)
        case Release():
            await _release(conn, change.subject_id)


async def _claim(conn: AsyncConnection, insert: Any, refused: Exception) -> None:
    try:
        await conn.execute(insert)
    except IntegrityError:
        raise refused from None


async def _change_cadre(conn: AsyncConnection, change: ChangeCadre) -> None:
    values: dict[str, Any] = {}
    if change.unit_id is not None:
        values["unit_id"] = change.unit_id
    if change.links is not None:
        values["links"] = change.links.model_dump(mode="json")
    if change.available is not None:
        values["available"] = change.available
    if change.kind is not None:
        values["kind"] = change.kind.value
    if change.rank is not None:
        values.update(tier=change.rank.tier.value, title=change.rank.title.value)
    await conn.execute(
        sa.update(cadre_registry).where(cadre_registry.c.cadre_id == change.cadre_id).values(**values)
    )


async def _hold(conn: AsyncConnection, hold: Hold) -> None:
    """Records that the cadre now holds the subject (a new pairing or a reassignment)."""
    # A cadre who retired or left meanwhile takes no new pairing (the row is locked for the check).
    available = (
        await conn.execute(
            sa.select(cadre_registry.c.available)
            .where(cadre_registry.c.cadre_id == hold.cadre_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if available is False:
        raise hold.unavailable()
    # One cadre, one household: the cadre's row is created, or found and counted up (which locks
    # it) only when it is for this household; no row back means another household's.
    insert = dialect_insert(conn.dialect.name)(cadre_holdings).values(
        cadre_id=hold.cadre_id, household_id=hold.household_id, subjects=1
    )
    counted = await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[cadre_holdings.c.cadre_id],
            set_={"subjects": cadre_holdings.c.subjects + 1},
            where=cadre_holdings.c.household_id == insert.excluded.household_id,
        ).returning(cadre_holdings.c.household_id)
    )
    if counted.first() is None:
        raise hold.other_household()
    row = {
        "subject_id": hold.subject_id,
        "pairing_id": hold.pairing_id,
        "cadre_id": hold.cadre_id,
        "household_id": hold.household_id,
        "unit_id": hold.unit_id,
        "started_on": hold.started_on,
    }
    await _claim(conn, sa.insert(active_pairings).values(row), hold.already_paired())


async def _release(conn: AsyncConnection, subject_id: str) -> None:
    row = (
        await conn.execute(
            sa.delete(active_pairings)
            .where(active_pairings.c.subject_id == subject_id)
            .returning(active_pairings.c.cadre_id)
        )
    ).first()
    if row is None:
        return
    await conn.execute(
        sa.update(cadre_holdings)
        .where(cadre_holdings.c.cadre_id == row.cadre_id)
        .values(subjects=cadre_holdings.c.subjects - 1)
    )
    await conn.execute(
        sa.delete(cadre_holdings).where(
            cadre_holdings.c.cadre_id == row.cadre_id, cadre_holdings.c.subjects <= 0
        )
    )
