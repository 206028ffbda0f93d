"""HTTP routes of the visits service: translate requests into commands, nothing more.

The app is built from the service's spec (`services/visits/bootstrap.py`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from services.visits import handlers
from services.visits.domain.commands import LogVisit
from services.visits.domain.visit import VisitRejected
from shared.eventstore import ConcurrencyConflict
from shared.runtime import Basics
from shared.web.actor import CommandMeta
from shared.web.bodies import RequestBody
from shared.web.consistency import POSITION_HEADER, format_token
from shared.web.errors import ApiError
from shared.web.security import requires

router = APIRouter(prefix="/visits", tags=["visits"], dependencies=[requires("visits.log")])


class VisitCreate(RequestBody, LogVisit):
    """A cadre's record of one contact or visit: the command's fields, checked as every body is."""

    visit_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="client-chosen id makes retries safe")


class VisitAccepted(BaseModel):
    visit_id: uuid.UUID
    position: str


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VisitAccepted)
async def log_visit(
    body: VisitCreate, meta: CommandMeta, basics: Basics, response: Response
) -> VisitAccepted:
    command = LogVisit(**body.model_dump())
    try:
        result = await handlers.log_visit(basics, command, meta)
    except VisitRejected as exc:
        raise ApiError(422, exc.code, str(exc)) from exc
    except ConcurrencyConflict as exc:
        raise ApiError(409, "visit_already_logged", f"visit {body.visit_id} is already logged") from exc
    token = format_token("visits", result.last_position)
    response.headers[POSITION_HEADER] = token
    return VisitAccepted(visit_id=body.visit_id, position=token)
