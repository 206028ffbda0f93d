"""Wires the gateway: its settings, the upstream clients and its app.

The gateway keeps no store and follows no events, so it runs no `ServiceRuntime`: its app has
the services' error shape, correlation-id middleware, request limits, JSON logging and
`/metrics` (request latency only), and its upstream clients live as long as the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from services.gateway.adapters.upstream import Upstreams
from services.gateway.entrypoints import api
from services.gateway.settings import GatewaySettings
from shared.observability.logging import configure_logging
from shared.observability.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from shared.runtime.app import correlation_and_timing
from shared.web.errors import install_error_handlers
from shared.web.limits import RequestLimits


def build_upstreams(settings: GatewaySettings) -> Upstreams:
    return Upstreams(
        settings.service_urls(),
        settings.service_token.get_secret_value(),
        settings.upstream_timeout_seconds,
    )


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway app (`uvicorn --factory services.gateway.bootstrap:create_app`)."""
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

    for router in api.ROUTERS:
        app.include_router(router)
    return app
