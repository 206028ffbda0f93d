"""The gateway's routes: the one HTTP edge (port 8080) in front of every service.

The app is built in `services/gateway/bootstrap.py`.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.gateway import handlers

router = APIRouter(prefix="/api", tags=["api"])
operations = APIRouter(tags=["operations"])


@router.post("/visits", summary="Log a contact or visit (visits service)")
async def log_visit(request: Request) -> Response:
    return await handlers.forward(request.app.state.upstreams, "visits", "/visits", request)


@router.get("/compliance/pairings/{pairing_id}", summary="A pairing against the work standard")
async def pairing_compliance(pairing_id: uuid.UUID, request: Request) -> Response:
    path = f"/compliance/pairings/{pairing_id}"
    return await handlers.forward(request.app.state.upstreams, "reporting", path, request)


@operations.get("/healthz", summary="The health of every service")
async def healthz(request: Request) -> JSONResponse:
    healthy, body = await handlers.system_health(request.app.state.upstreams)
    return JSONResponse(body, status_code=200 if healthy else 503)


ROUTERS = (operations, router)
