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
from shared.observability.logging import configure_logging
from shared.observability.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from shared.runtime.app import correlation_and_timing
from shared.web.errors import install_error_handlers
from shared.web.limits import RequestLimits

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

    configure_logging("gateway", settings.log_level)
    app = FastAPI(title="carepair gateway", lifespan=lifespan)
    metrics = ServiceMetrics("gateway")
    install_error_handlers(app)
    app.middleware("http")(correlation_and_timing(metrics))
    app.add_middleware(RequestLimits, **settings.request_limits())  # outermost: first to look

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["operations"], summary="The health of every service")
    async def healthz(request: Request) -> JSONResponse:
        healthy, body = await handlers.system_health(request.app.state.upstreams)
        return JSONResponse(body, status_code=200 if healthy else 503)

    app.include_router(router)
    return app
