"""The registries in the service's database: committed reads, and the changes each append makes.

The same reads serve a command before it decides (on a connection of its own) and the check
at commit (on the append's own connection, under the store's append lock). The changes are
those `services/pairing/domain/registry.py` computes from the appended events; a unique key or
a locked row refuses what the rules refuse, with the refusal the domain names.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa
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
from services.pairing.domain.ports import Check, Effect
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
        query = sa.select(cadre_registry).where(
            cadre_registry.c.gender == Gender.female.value,
            cadre_registry.c.available.is_(True),
            cadre_registry.c.cadre_id != excluding,
            cadre_registry.c.cadre_id.not_in(sa.select(cadre_holdings.c.cadre_id)),
        )
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

    async def __call__(self, conn: AsyncConnection | None) -> None:
        if conn is None:
            raise TypeError("the SQL registries change only inside a SQL store's append")
        if self.check is not None:
            await self.check(SqlRegistryReader(conn))
        for change in self.changes:
            await _apply(conn, self.fingerprints, change)


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
    # One cadre, one household: the row for the cadre is created or found, locked, and checked.
    await conn.execute(
        dialect_insert(conn.dialect.name)(cadre_holdings)
        .values(cadre_id=hold.cadre_id, household_id=hold.household_id, subjects=0)
        .on_conflict_do_nothing()
    )
    held = (
        await conn.execute(
            sa.select(cadre_holdings.c.household_id)
            .where(cadre_holdings.c.cadre_id == hold.cadre_id)
            .with_for_update()
        )
    ).scalar_one()
    if held != hold.household_id:
        raise hold.other_household()
    await conn.execute(
        sa.update(cadre_holdings)
        .where(cadre_holdings.c.cadre_id == hold.cadre_id)
        .values(subjects=cadre_holdings.c.subjects + 1)
    )
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
