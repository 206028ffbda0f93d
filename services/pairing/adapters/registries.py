"""Reads of the registries that each append keeps in step: committed state, on any connection.

The same reads serve a command before it decides (on a connection of its own) and the check
at commit (on the append's own connection, under the store's append lock).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.pairing.adapters.tables import (
    active_pairings,
    cadre_holdings,
    cadre_registry,
    household_members,
)
from services.pairing.domain.rules import CadreView
from shared.contracts.people import CadreKind, Gender, Links, Rank, RankTier, RankTitle
from shared.eventstore.schema import events


async def household(conn: AsyncConnection, household_id: str) -> tuple[str, ...]:
    """The subjects of the household still cared for, in id order."""
    rows = await conn.execute(
        sa.select(household_members.c.subject_id)
        .where(household_members.c.household_id == household_id)
        .order_by(household_members.c.subject_id)
    )
    return tuple(rows.scalars())


async def cadre_of(conn: AsyncConnection, subject_id: str) -> str | None:
    """The cadre the subject is paired with now, if any."""
    query = sa.select(active_pairings.c.cadre_id).where(active_pairings.c.subject_id == subject_id)
    return (await conn.execute(query)).scalar_one_or_none()


async def held_by(conn: AsyncConnection, cadre_id: str) -> str | None:
    """The household the cadre holds, if any."""
    query = sa.select(cadre_holdings.c.household_id).where(cadre_holdings.c.cadre_id == cadre_id)
    return (await conn.execute(query)).scalar_one_or_none()


async def household_cadre(conn: AsyncConnection, household_id: str, besides: str) -> str | None:
    """The cadre another member of the household (not `besides`) is paired with, if any."""
    query = (
        sa.select(active_pairings.c.cadre_id)
        .where(active_pairings.c.household_id == household_id, active_pairings.c.subject_id != besides)
        .order_by(active_pairings.c.cadre_id)
        .limit(1)
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def free_women(conn: AsyncConnection, excluding: str, unit_id: str | None = None) -> list[CadreView]:
    """Women who can take a pairing and hold none (of `unit_id` only, when given)."""
    query = sa.select(cadre_registry).where(
        cadre_registry.c.gender == Gender.female.value,
        cadre_registry.c.available.is_(True),
        cadre_registry.c.cadre_id != excluding,
        cadre_registry.c.cadre_id.not_in(sa.select(cadre_holdings.c.cadre_id)),
    )
    if unit_id is not None:
        query = query.where(cadre_registry.c.unit_id == unit_id)
    return [_view(row) for row in (await conn.execute(query.order_by(cadre_registry.c.cadre_id))).mappings()]


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
