"""What the reporting service answers from its read models."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.tables import pairing_year_tallies as tallies
from services.reporting.domain.compliance import YearTally


async def year_tally(conn: AsyncConnection, pairing_id: uuid.UUID, year: int) -> YearTally:
    """How a pairing stands in `year`: an empty tally when nothing was logged."""
    key = (tallies.c.pairing_id == pairing_id) & (tallies.c.year == year)
    row = (await conn.execute(sa.select(tallies.c.contacts, tallies.c.visits).where(key))).first()
    return YearTally(*row) if row else YearTally()
