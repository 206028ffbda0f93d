"""Reporting's read models, fed from other services' events; the table at the end lists them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.tables import pairing_year_tallies as tallies
from services.reporting.domain.compliance import YearTally
from shared.contracts.visits import VisitLogged
from shared.eventstore import Envelope
from shared.messaging.projection import Projection, Rows


async def tally_visits(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """Counts each logged contact or visit towards its pairing's year: one row write per pairing-year."""
    events = [envelope.payload for envelope in envelopes if isinstance(envelope.payload, VisitLogged)]
    assert len(events) == len(envelopes)
    rows = Rows(tallies)
    await rows.load(conn, [(event.pairing_id, event.happened_on.year) for event in events])
    for event in events:
        key = (event.pairing_id, event.happened_on.year)
        row = rows.get(key)
        tally = YearTally(row["contacts"], row["visits"]) if row else YearTally()
        tally = tally.record(event.mode.on_site)
        rows.upsert(
            {"pairing_id": key[0], "year": key[1], "contacts": tally.contacts, "visits": tally.visits}
        )
    await rows.flush(conn)


COMPLIANCE = Projection.batched("reporting-compliance", ("visits",), {"VisitLogged"}, tally_visits)
