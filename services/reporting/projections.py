"""Reporting's read models, fed from other services' events; the table at the end lists them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.tables import pairing_year_tallies as tallies
from services.reporting.domain.compliance import YearTally
from shared.contracts.visits import VisitLogged
from shared.eventstore import Envelope
from shared.messaging.projection import Projection


async def tally_visit(conn: AsyncConnection, envelope: Envelope) -> None:
    """Counts a logged contact or visit towards its pairing's year."""
    event = envelope.payload
    assert isinstance(event, VisitLogged)
    key = (tallies.c.pairing_id == event.pairing_id) & (tallies.c.year == event.happened_on.year)
    row = (await conn.execute(sa.select(tallies.c.contacts, tallies.c.visits).where(key))).first()
    tally = YearTally(*row) if row else YearTally()
    tally = tally.record(event.mode.on_site)
    values = {"contacts": tally.contacts, "visits": tally.visits}
    if row:
        await conn.execute(sa.update(tallies).where(key).values(**values))
    else:
        await conn.execute(
            sa.insert(tallies).values(pairing_id=event.pairing_id, year=event.happened_on.year, **values)
        )


EVENT_HANDLERS = {"VisitLogged": tally_visit}

COMPLIANCE = Projection(name="reporting-compliance", producers=("visits",), handlers=EVENT_HANDLERS)
