"""HTTP routes of the reporting service: compliance queries over its read models.

The app is built from the service's spec (`services/reporting/bootstrap.py`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.reporting import views
from services.reporting.domain.compliance import CONTACTS_PER_YEAR, VISITS_PER_YEAR
from shared.runtime import Basics
from shared.web.consistency import ConsistentRead
from shared.web.security import requires

router = APIRouter(prefix="/compliance", tags=["compliance"], dependencies=[requires("reporting.compliance")])


class PairingCompliance(BaseModel):
    """How one pairing stands against the yearly work standard."""

    pairing_id: uuid.UUID
    year: int
    contacts: int
    visits: int
    contacts_required: int = CONTACTS_PER_YEAR
    visits_required: int = VISITS_PER_YEAR
    meets_standard: bool


@router.get("/pairings/{pairing_id}", response_model=PairingCompliance)
async def pairing_compliance(
    pairing_id: uuid.UUID,
    basics: Basics,
    _consistent: ConsistentRead,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> PairingCompliance:
    year = year or basics.today().year
    async with basics.engine.connect() as conn:
        tally = await views.year_tally(conn, pairing_id, year)
    return PairingCompliance(
        pairing_id=pairing_id,
        year=year,
        contacts=tally.contacts,
        visits=tally.visits,
        meets_standard=tally.meets_standard,
    )
