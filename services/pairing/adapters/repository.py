"""Loads subjects and cadres from their streams, and appends with the registries kept in step."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.pairing.adapters.tables import (
    active_pairings,
    cadre_columns,
    cadre_fingerprints,
    cadre_holdings,
    cadre_registry,
    household_members,
    subject_fingerprints,
)
from services.pairing.domain import cadre as cadre_domain
from services.pairing.domain import subject as subject_domain
from services.pairing.domain.refusals import Refusal, Refused
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadrePlaced,
    CadreRankChanged,
    CadreReassigned,
    CadreRegistered,
    CadreRetired,
    CadreTransferred,
    PairingEnded,
    SubjectDetailsChanged,
    SubjectExited,
    SubjectPaired,
    SubjectRegistered,
)
from shared.database import dialect_insert
from shared.eventstore import AppendResult, EventStore, Metadata
from shared.eventstore.opener import EventOpener


def subject_stream(subject_id: str) -> str:
    return f"subject-{subject_id}"


def cadre_stream(cadre_id: str) -> str:
    return f"cadre-{cadre_id}"


#: A check that runs in the append's transaction, under the store's append lock, before the
#: registries change: it raises to refuse the append (see `services/pairing/basis.py`).
Guard = Callable[[AsyncConnection], Awaitable[None]]


class Fingerprints:
    """Keyed hashes of identifying details, so duplicates are found without storing them."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def of(self, *parts: str) -> str:
        text = "\x1f".join(p.strip().upper() for p in parts)
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()


class PairingRepository:
    """The pairing service's way to its event store."""

    def __init__(self, store: EventStore, opener: EventOpener, fingerprints: Fingerprints) -> None:
        self.store = store
        self.opener = opener
        self.fingerprints = fingerprints

    async def subject(self, subject_id: str) -> subject_domain.SubjectState:
        state = subject_domain.SubjectState(subject_id)
        for envelope in await self.opener.open_many(await self.store.read_stream(subject_stream(subject_id))):
            state = subject_domain.evolve(state, envelope.payload)
        return state

    async def cadre(self, cadre_id: str) -> cadre_domain.CadreState:
        state = cadre_domain.CadreState(cadre_id)
        for envelope in await self.opener.open_many(await self.store.read_stream(cadre_stream(cadre_id))):
            state = cadre_domain.evolve(state, envelope.payload)
        return state

    async def append_subject(
        self,
        state: subject_domain.SubjectState,
        events: Sequence[EventPayload],
        meta: Metadata,
        guard: Guard | None = None,
    ) -> AppendResult:
        """Appends to the subject's stream; `guard` checks first, registries change with it."""
        return await self.store.append(
            subject_stream(state.subject_id),
            state.version,
            events,
            meta,
            effect=_registry_effect(events, self.fingerprints, guard),
        )

    async def append_cadre(
        self, state: cadre_domain.CadreState, events: Sequence[EventPayload], meta: Metadata
    ) -> AppendResult:
        return await self.store.append(
            cadre_stream(state.cadre_id),
            state.version,
            events,
            meta,
            effect=_registry_effect(events, self.fingerprints),
        )


def _registry_effect(
    events: Sequence[EventPayload], fingerprints: Fingerprints, guard: Guard | None = None
) -> Any:
    async def apply(conn: AsyncConnection | None) -> None:
        if conn is None:  # the in-memory store of unit tests keeps no registries
            return
        if guard is not None:
            await guard(conn)
        for event in events:
            match event:
                case SubjectRegistered():
                    await _claim_id_number(
                        conn,
                        fingerprints,
                        event.subject_id,
                        event.id_number,
                        "该身份证号已登记为关爱对象，不能重复登记",
                    )
                    await conn.execute(
                        sa.insert(household_members).values(
                            subject_id=event.subject_id, household_id=event.household_id
                        )
                    )
                case SubjectDetailsChanged():
                    # A corrected ID number moves the subject's fingerprint with it.
                    await conn.execute(
                        sa.delete(subject_fingerprints).where(
                            subject_fingerprints.c.subject_id == event.subject_id
                        )
                    )
                    await _claim_id_number(
                        conn,
                        fingerprints,
                        event.subject_id,
                        event.id_number,
                        "该身份证号已登记为其他关爱对象",
                    )
                    await conn.execute(
                        sa.update(household_members)
                        .where(household_members.c.subject_id == event.subject_id)
                        .values(household_id=event.household_id)
                    )
                case SubjectExited():
                    await conn.execute(
                        sa.delete(household_members).where(household_members.c.subject_id == event.subject_id)
                    )
                case CadreRegistered():
                    await _claim(
                        conn,
                        cadre_fingerprints,
                        "cadre_id",
                        event.cadre_id,
                        fingerprints.of(event.name, event.birth_date.isoformat(), event.unit_id),
                        "cadre_duplicate",
                        "同一单位已登记同名同出生日期的干部，不能重复登记",
                    )
                    await conn.execute(
                        sa.insert(cadre_registry).values(**cadre_columns(event), available=True)
                    )
                case CadreRetired():
                    await _cadre_changes(conn, event.cadre_id, available=event.continues)
                case CadreTransferred():
                    await _cadre_changes(
                        conn,
                        event.cadre_id,
                        unit_id=event.unit_id,
                        links=event.links.model_dump(mode="json"),
                        **({"available": False} if event.leaves_area else {}),
                    )
                case CadreRankChanged():
                    await _cadre_changes(
                        conn,
                        event.cadre_id,
                        kind=event.kind.value,
                        tier=event.rank.tier.value,
                        title=event.rank.title.value,
                    )
                case CadrePlaced():
                    await _cadre_changes(conn, event.cadre_id, links=event.links.model_dump(mode="json"))
                case SubjectPaired():
                    await _hold(conn, event, event.cadre_id)
                case PairingEnded():
                    await _release(conn, event.subject_id)
                case CadreReassigned():
                    await _release(conn, event.subject_id)
                    await _hold(conn, event, event.to_cadre_id)

    return apply


async def _cadre_changes(conn: AsyncConnection, cadre_id: str, **values: Any) -> None:
    await conn.execute(
        sa.update(cadre_registry).where(cadre_registry.c.cadre_id == cadre_id).values(**values)
    )


def _insert(conn: AsyncConnection) -> Any:
    return dialect_insert(conn.dialect.name)


async def _claim(
    conn: AsyncConnection,
    table: sa.Table,
    id_column: str,
    owner: str,
    fingerprint: str,
    code: str,
    message: str,
) -> None:
    try:
        await conn.execute(sa.insert(table).values({"fingerprint": fingerprint, id_column: owner}))
    except IntegrityError:
        raise Refused([Refusal(code, message)]) from None


async def _claim_id_number(
    conn: AsyncConnection, fingerprints: Fingerprints, subject_id: str, id_number: str, message: str
) -> None:
    """The subject's ID number, as a fingerprint, is theirs alone; another subject with it is refused."""
    await _claim(
        conn,
        subject_fingerprints,
        "subject_id",
        subject_id,
        fingerprints.of(id_number),
        "subject_duplicate",
        message,
    )


async def _hold(conn: AsyncConnection, pairing: SubjectPaired | CadreReassigned, cadre_id: str) -> None:
    """Records that `cadre_id` now holds the pairing's subject (a new pairing or a reassignment)."""
    # A cadre who retired or left meanwhile takes no new pairing (the row is locked for the check).
    available = (
        await conn.execute(
            sa.select(cadre_registry.c.available)
            .where(cadre_registry.c.cadre_id == cadre_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if available is False:
        raise Refused(
            [
                Refusal(
                    "cadre_unavailable",
                    "该干部已退休离岗或调离，不能新建结对",
                    cadre_id=cadre_id,
                    subject_id=pairing.subject_id,
                )
            ]
        )
    # One cadre, one household: the row for the cadre is created or found, locked, and checked.
    await conn.execute(
        _insert(conn)(cadre_holdings)
        .values(cadre_id=cadre_id, household_id=pairing.household_id, subjects=0)
        .on_conflict_do_nothing()
    )
    held = (
        await conn.execute(
            sa.select(cadre_holdings.c.household_id)
            .where(cadre_holdings.c.cadre_id == cadre_id)
            .with_for_update()
        )
    ).scalar_one()
    if held != pairing.household_id:
        raise Refused(
            [
                Refusal(
                    "cadre_already_paired",
                    "该干部已结对其他家庭：一名干部只结对一名关爱对象或同一户",
                    cadre_id=cadre_id,
                    subject_id=pairing.subject_id,
                )
            ]
        )
    await conn.execute(
        sa.update(cadre_holdings)
        .where(cadre_holdings.c.cadre_id == cadre_id)
        .values(subjects=cadre_holdings.c.subjects + 1)
    )
    try:
        await conn.execute(
            sa.insert(active_pairings).values(
                subject_id=pairing.subject_id,
                pairing_id=pairing.pairing_id,
                cadre_id=cadre_id,
                household_id=pairing.household_id,
                unit_id=pairing.unit_id,
                started_on=pairing.effective_on,
            )
        )
    except IntegrityError:
        raise Refused(
            [Refusal("subject_already_paired", "该关爱对象已有结对干部", subject_id=pairing.subject_id)]
        ) from None


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
