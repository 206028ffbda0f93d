"""Routes that change things: register, change, pair, end, re-pair. Only translation happens here."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response, status

from services.pairing import handlers
from services.pairing.domain.commands import (
    ChangeCadreRank,
    ChangeSituation,
    ChangeSubjectDetails,
    DecideReview,
    EndPairing,
    PairSubject,
    PlaceCadre,
    ReassignSubject,
    RegisterCadre,
    RegisterSubject,
    RetireCadre,
    TransferCadre,
)
from services.pairing.domain.identity import check_phone, check_resident_id
from services.pairing.entrypoints.schemas import (
    Accepted,
    CadreCreate,
    CadreRows,
    PairingCreate,
    PairingEnd,
    Placement,
    RankChange,
    ReassignmentCreate,
    Retirement,
    ReviewDecisionCreate,
    SituationChange,
    SubjectCreate,
    SubjectFields,
    SubjectRows,
    SuggestionAcceptance,
    SuggestionRequest,
    Transfer,
)
from services.pairing.views import suggestions
from shared.eventstore import AppendResult
from shared.runtime.web import deps_of
from shared.web import batch
from shared.web.actor import CommandMeta
from shared.web.consistency import POSITION_HEADER, ConsistentRead, format_token
from shared.web.errors import ApiError
from shared.web.security import requires

router = APIRouter(tags=["pairing commands"], dependencies=[requires("pairing.commands")])


deps = deps_of(handlers.PairingDeps)


def accepted(response: Response, id_: str, result: AppendResult) -> Accepted:
    token = format_token("pairing", result.last_position)
    response.headers[POSITION_HEADER] = token
    return Accepted(id=id_, position=token)


def checked_subject_fields(body: SubjectFields) -> dict[str, object]:
    """The fields with ID numbers and phones checked and normalised; raises `InvalidIdentity`."""
    values = body.model_dump(exclude={"subject_id"})
    values["id_number"] = check_resident_id(
        body.id_number, field="id_number", birth_date=body.birth_date, gender=body.gender
    ).number
    values["phone"] = check_phone(body.phone)
    if body.guardian is not None:
        guardian = body.guardian
        values["guardian"] = guardian.model_copy(
            update={
                "phone": check_phone(guardian.phone, field="guardian.phone"),
                "id_number": check_resident_id(
                    guardian.id_number,
                    field="guardian.id_number",
                    birth_date=guardian.birth_date,
                    gender=guardian.gender,
                ).number
                if guardian.id_number
                else "",
            }
        )
    values["household_id"] = body.household_id or f"h-{uuid.uuid4()}"
    return values


@router.post("/subjects", status_code=status.HTTP_201_CREATED, response_model=Accepted)
async def register_subject(
    body: SubjectCreate, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = subject_command(body)
    result = await handlers.register_subject(deps(request), command, meta)
    return accepted(response, command.subject_id, result)


def subject_command(raw: object) -> RegisterSubject:
    body = SubjectCreate.model_validate(raw)
    return RegisterSubject(subject_id=body.subject_id or f"s-{uuid.uuid4()}", **checked_subject_fields(body))


@router.post(
    "/subjects:batch", response_model=batch.BatchAnswer, summary="Register many subjects (an import)"
)
async def register_subjects(
    body: SubjectRows, meta: CommandMeta, request: Request, response: Response
) -> batch.BatchAnswer:
    """Each row is checked and registered as `POST /subjects` would, and answered on its own."""
    rows = [batch.parse_row(subject_command, raw) for raw in body.rows]
    commands = [row for row in rows if isinstance(row, RegisterSubject)]
    results = iter(await handlers.register_subjects(deps(request), commands, meta))
    outcomes = [
        (row.subject_id, _token(next(results))) if isinstance(row, RegisterSubject) else (None, row)
        for row in rows
    ]
    return await _answered(request, response, outcomes)


def _token(result: AppendResult | Exception) -> str | Exception:
    return result if isinstance(result, Exception) else format_token("pairing", result.last_position)


async def _answered(
    request: Request, response: Response, outcomes: Sequence[tuple[str | None, str | Exception]]
) -> batch.BatchAnswer:
    answer = await batch.answer(request, outcomes)
    positions = [r.position for r in answer.results if r.position is not None]
    if positions:
        response.headers[POSITION_HEADER] = max(positions, key=lambda t: int(t.rsplit(":", 1)[1]))
    return answer


@router.put("/subjects/{subject_id}/details", response_model=Accepted)
async def change_details(
    subject_id: str, body: SubjectFields, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    state = await deps(request).repo.subject(subject_id)
    values = checked_subject_fields(body)
    if body.household_id is None and state.details is not None:
        values["household_id"] = state.details.household_id
    command = ChangeSubjectDetails(subject_id=subject_id, **values)
    return accepted(response, subject_id, await handlers.change_subject_details(deps(request), command, meta))


@router.post("/subjects/{subject_id}/situation", response_model=Accepted)
async def change_situation(
    subject_id: str, body: SituationChange, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = ChangeSituation(subject_id=subject_id, **dict(body))
    return accepted(response, subject_id, await handlers.change_situation(deps(request), command, meta))


@router.post("/subjects/{subject_id}/reviews/{review_id}/decision", response_model=Accepted)
async def decide_review(
    subject_id: str,
    review_id: uuid.UUID,
    body: ReviewDecisionCreate,
    meta: CommandMeta,
    request: Request,
    response: Response,
) -> Accepted:
    command = DecideReview(subject_id=subject_id, review_id=review_id, **dict(body))
    return accepted(response, subject_id, await handlers.decide_review(deps(request), command, meta))


@router.post("/cadres", status_code=status.HTTP_201_CREATED, response_model=Accepted)
async def register_cadre(
    body: CadreCreate, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = cadre_command(body)
    return accepted(response, command.cadre_id, await handlers.register_cadre(deps(request), command, meta))


def cadre_command(raw: object) -> RegisterCadre:
    body = CadreCreate.model_validate(raw)
    values = body.model_dump(exclude={"cadre_id"})
    values["phone"] = check_phone(body.phone)
    return RegisterCadre(cadre_id=body.cadre_id or f"c-{uuid.uuid4()}", **values)


@router.post(
    "/cadres:batch", response_model=batch.BatchAnswer, summary="Register many cadres (an import)"
)
async def register_cadres(
    body: CadreRows, meta: CommandMeta, request: Request, response: Response
) -> batch.BatchAnswer:
    """Each row is checked and registered as `POST /cadres` would, and answered on its own."""
    rows = [batch.parse_row(cadre_command, raw) for raw in body.rows]
    commands = [row for row in rows if isinstance(row, RegisterCadre)]
    results = iter(await handlers.register_cadres(deps(request), commands, meta))
    outcomes = [
        (row.cadre_id, _token(next(results))) if isinstance(row, RegisterCadre) else (None, row)
        for row in rows
    ]
    return await _answered(request, response, outcomes)


@router.post("/cadres/{cadre_id}/retirement", response_model=Accepted)
async def retire(
    cadre_id: str, body: Retirement, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = RetireCadre(cadre_id=cadre_id, **dict(body))
    return accepted(response, cadre_id, await handlers.retire_cadre(deps(request), command, meta))


@router.post("/cadres/{cadre_id}/transfer", response_model=Accepted)
async def transfer(
    cadre_id: str, body: Transfer, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = TransferCadre(cadre_id=cadre_id, **dict(body))
    return accepted(response, cadre_id, await handlers.transfer_cadre(deps(request), command, meta))


@router.post("/cadres/{cadre_id}/rank", response_model=Accepted)
async def change_rank(
    cadre_id: str, body: RankChange, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = ChangeCadreRank(cadre_id=cadre_id, **dict(body))
    return accepted(response, cadre_id, await handlers.change_cadre_rank(deps(request), command, meta))


@router.post("/cadres/{cadre_id}/placement", response_model=Accepted)
async def place(
    cadre_id: str, body: Placement, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = PlaceCadre(cadre_id=cadre_id, **dict(body))
    return accepted(response, cadre_id, await handlers.place_cadre(deps(request), command, meta))


@router.post("/pairings", status_code=status.HTTP_201_CREATED, response_model=Accepted)
async def pair(body: PairingCreate, meta: CommandMeta, request: Request, response: Response) -> Accepted:
    result = await handlers.pair(deps(request), PairSubject(**dict(body)), meta)
    return accepted(response, body.subject_id, result)


@router.post("/subjects/{subject_id}/pairing/end", response_model=Accepted)
async def end(
    subject_id: str, body: PairingEnd, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    command = EndPairing(subject_id=subject_id, **dict(body))
    return accepted(response, subject_id, await handlers.end_pairing(deps(request), command, meta))


@router.post("/reassignments", status_code=status.HTTP_201_CREATED, response_model=Accepted)
async def reassign(
    body: ReassignmentCreate, meta: CommandMeta, request: Request, response: Response
) -> Accepted:
    result = await handlers.reassign(deps(request), ReassignSubject(**dict(body)), meta)
    return accepted(response, body.subject_id, result)


@router.post("/suggestions", summary="Suggested pairings for a township or unit, with reasons")
async def suggest_pairings(
    body: SuggestionRequest, request: Request, _consistent: ConsistentRead
) -> dict[str, Any]:
    if (body.township_code is None) == (body.unit_id is None):
        raise ApiError(422, "invalid_input", "请给出乡镇代码（township_code）或单位编号（unit_id）其中之一")
    plan = await suggestions.suggestions(deps(request), suggestions.Scope(body.township_code, body.unit_id))
    return {
        "placed": [dataclasses.asdict(s) for s in plan.placed],
        "unplaced": [dataclasses.asdict(u) for u in plan.unplaced],
    }


@router.post("/suggestions/accept", summary="Accept suggestions in bulk: each pairing checked again")
async def accept_suggestions(
    body: SuggestionAcceptance, meta: CommandMeta, request: Request, response: Response
) -> dict[str, Any]:
    pairs = [(p.subject_id, p.cadre_id) for p in body.pairs]
    results = await handlers.accept_suggestions(deps(request), pairs, meta)
    positions = [r["position"] for r in results if r["accepted"]]
    if positions:
        response.headers[POSITION_HEADER] = format_token("pairing", max(positions))
    return {"results": results, "accepted": len(positions), "refused": len(results) - len(positions)}
