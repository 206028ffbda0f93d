"""HTTP routes of the reporting service: compliance queries over its read models."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel

from services.reporting import views
from services.reporting.bootstrap import build_runtime
from services.reporting.domain.compliance import CONTACTS_PER_YEAR, VISITS_PER_YEAR
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.runtime import create_service_app
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
    request: Request,
    _consistent: ConsistentRead,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> PairingCompliance:
    runtime = request.app.state.runtime
    year = year or runtime.clock.today().year
    async with runtime.engine.connect() as conn:
        tally = await views.year_tally(conn, pairing_id, year)
    return PairingCompliance(
        pairing_id=pairing_id,
        year=year,
        contacts=tally.contacts,
        visits=tally.visits,
        meets_standard=tally.meets_standard,
    )


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The reporting service's app (`uvicorn --factory services.reporting.entrypoints.api:create_app`)."""
    return create_service_app(build_runtime(settings, clock), [router], title="carepair reporting")
