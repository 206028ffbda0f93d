"""The pairing service's HTTP side: its routers, and its refusals in the shared error shape.

The app is built from the service's spec (`services/pairing/bootstrap.py`).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from services.pairing.domain.identity import InvalidIdentity
from services.pairing.domain.rank import InvalidRank
from services.pairing.domain.refusals import Refused
from services.pairing.entrypoints import commands, queries
from shared.web.errors import error_body


async def refused(_: Request, exc: Exception) -> JSONResponse:
    """422 naming every rule in the way: code, message, who is involved, whether it can be overridden."""
    assert isinstance(exc, Refused)
    details = [
        {
            "code": r.code,
            "message": r.message,
            "overridable": r.overridable,
            "subject_id": r.subject_id,
            "cadre_id": r.cadre_id,
        }
        for r in exc.refusals
    ]
    code = exc.refusals[0].code if len(exc.refusals) == 1 else "rules_refused"
    return JSONResponse(error_body(code, str(exc), details), status_code=422)


async def invalid_identity(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidIdentity)
    details = [{"field": f"body.{exc.field}", "problem": str(exc), "code": exc.code}]
    return JSONResponse(error_body("invalid_input", str(exc), details), status_code=422)


async def invalid_rank(_: Request, exc: Exception) -> JSONResponse:
    details = [{"field": "body.rank", "problem": str(exc)}]
    return JSONResponse(error_body("invalid_input", str(exc), details), status_code=422)


ROUTERS = (commands.router, queries.router)

EXCEPTION_HANDLERS = (
    (Refused, refused),
    (InvalidIdentity, invalid_identity),
    (InvalidRank, invalid_rank),
)
