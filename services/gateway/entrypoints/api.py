"""The gateway: the one HTTP edge (port 8080) in front of every service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.gateway import handlers
from services.gateway.bootstrap import build_upstreams
from services.gateway.settings import GatewaySettings
from shared.web.errors import install_error_handlers

router = APIRouter(prefix="/api", tags=["api"])


@router.post("/visits", summary="Log a contact or visit (visits service)")
async def log_visit(request: Request) -> Response:
    return await handlers.forward(request.app.state.upstreams, "visits", "/visits", request)


@router.get("/compliance/pairings/{pairing_id}", summary="A pairing against the work standard")
async def pairing_compliance(pairing_id: uuid.UUID, request: Request) -> Response:
    path = f"/compliance/pairings/{pairing_id}"
    return await handlers.forward(request.app.state.upstreams, "reporting", path, request)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway app (`uvicorn --factory services.gateway.entrypoints.api:create_app`)."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.upstreams = build_upstreams(settings)
        try:
            yield
        finally:
            await app.state.upstreams.close()

    app = FastAPI(title="carepair gateway", lifespan=lifespan)
    install_error_handlers(app)

    @app.get("/healthz", tags=["operations"], summary="The health of every service")
    async def healthz(request: Request) -> JSONResponse:
        healthy, body = await handlers.system_health(request.app.state.upstreams)
        return JSONResponse(body, status_code=200 if healthy else 503)

    app.include_router(router)
    return app
