"""Routes that read: contact cards, responsibility, queues, audits (personal data: services only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.pairing import views
from services.pairing.entrypoints.commands import deps
from services.pairing.views import suggestions
from shared.web.consistency import ConsistentRead
from shared.web.errors import ApiError
from shared.web.security import requires

router = APIRouter(tags=["pairing queries"], dependencies=[requires("pairing.queries")])


@router.get("/subjects/{subject_id}/card", summary="The contact card (annex 2) as of now")
async def contact_card(subject_id: str, request: Request) -> dict[str, Any]:
    card = await views.contact_card(deps(request), subject_id)
    if card is None:
        raise ApiError(404, "subject_unknown", f"没有这名关爱对象：{subject_id}")
    return card


@router.get("/subjects/{subject_id}/responsible", summary="Who was responsible on a day, and the history")
async def responsible(
    subject_id: str, request: Request, on: Annotated[date | None, Query()] = None
) -> dict[str, Any]:
    answer = await views.responsible_on(deps(request), subject_id, on or deps(request).today())
    if answer is None:
        raise ApiError(404, "subject_unknown", f"没有这名关爱对象：{subject_id}")
    return answer


@router.get("/reassignments", summary="Subjects waiting for a new cadre, longest first")
async def queue(
    request: Request, _consistent: ConsistentRead
) -> list[dict[str, Any]]:
    return await views.reassignment_queue(deps(request), deps(request).today())


@router.get("/overrides", summary="Every in-principle rule an operator overrode, with the reason")
async def overrides(
    request: Request, _consistent: ConsistentRead
) -> list[dict[str, Any]]:
    return await views.override_audit(deps(request))


@router.get("/reviews", summary="Pairings waiting for a review decision")
async def reviews(
    request: Request, _consistent: ConsistentRead
) -> list[dict[str, Any]]:
    return await views.open_reviews(deps(request))


@router.get("/units/{unit_id}/pairings", summary="A unit's pairings, past and present")
async def unit_pairings(
    unit_id: str, request: Request, _consistent: ConsistentRead
) -> list[dict[str, Any]]:
    return await views.pairings_of_unit(deps(request), unit_id)


@router.get("/reassignments/{subject_id}/proposal", summary="A replacement from the same unit, to confirm")
async def reassignment_proposal(subject_id: str, request: Request) -> dict[str, Any]:
    found = await suggestions.proposal(deps(request), subject_id)
    if found is None:
        raise ApiError(404, "not_waiting", f"关爱对象{subject_id}不在待调整队列中")
    return found
