"""The FastAPI app every service serves: its routes plus health, readiness, metrics and feed."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.clock import Clock
from shared.messaging.feed import feed_router
from shared.observability.logging import configure_logging
from shared.observability.metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from shared.runtime.service import ServiceRuntime
from shared.runtime.spec import ServiceSpec
from shared.settings import Settings
from shared.web.errors import install_error_handlers
from shared.web.limits import RequestLimits
from shared.web.scopes import GRANTS, feed_scope

CORRELATION_HEADER = "X-Correlation-Id"


def create_app(
    spec: ServiceSpec[Any],
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    fakes: bool = False,
) -> FastAPI:
    """The app of the service `spec` declares: its routes and error handlers on the common runtime.

    `settings` default to the spec's settings class read from the environment; `clock` to the
    system clock in the programme's zone; `fakes` builds the spec's in-memory stand-ins for its
    outbound clients instead of the real ones (tests).
    """
    runtime = ServiceRuntime(spec, settings or spec.settings(), clock=clock, fakes=fakes)
    app = create_service_app(runtime, spec.routers, spec.title or f"carepair {spec.name}")
    for exception, handler in spec.exception_handlers:
        app.add_exception_handler(exception, handler)
    return app


def create_service_app(runtime: ServiceRuntime[Any], routers: Sequence[APIRouter], title: str) -> FastAPI:
    """Builds the app; the runtime starts with the app and stops (drained) with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.store = runtime.store
        app.state.read_signals = runtime.read_signals
        app.state.refresh_positions = runtime.refresh_read_positions
        metrics.gauge(
            "carepair_last_position", "last committed position", lambda: runtime.store.committed.position
        )
        metrics.gauge(
            "carepair_relay_position", "last position JetStream acknowledged", lambda: runtime.relay.position
        )
        metrics.gauge(
            "carepair_relay_skipped_events",
            "events too large for NATS that the relay stepped over (consumers read them from the feed)",
            lambda: len(runtime.relay.skipped),
        )
        metrics.gauge(
            "carepair_consumer_forged_messages",
            "messages refused for a missing or wrong signature (read from the producer's feed instead)",
            runtime.forged_messages,
        )
        metrics.gauge(
            "carepair_events_committed",
            "events this process committed",
            lambda: runtime.store.events_committed,
        )
        for runner in runtime.runners.values():
            for producer in runner.projection.producers:
                metrics.gauge(
                    f"carepair_projection_position_{_metric_name(runner.name)}_{producer}",
                    f"last {producer} position applied by {runner.name}",
                    functools.partial(runner.position, producer),
                )
        try:
            yield
        finally:
            await runtime.stop()

    configure_logging(runtime.name, runtime.settings.log_level)
    app = FastAPI(title=title, lifespan=lifespan)
    metrics = ServiceMetrics(runtime.name)
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.peers = runtime.settings.peers()
    app.state.grants = GRANTS
    app.state.consistency_wait = runtime.settings.consistency_wait_seconds
    install_error_handlers(app)
    app.middleware("http")(correlation_and_timing(metrics))
    app.add_middleware(RequestLimits, **runtime.settings.request_limits())  # outermost: first to look

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/readyz", tags=["operations"], summary="Database, NATS, relay and consumers all work")
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def read_after(position: int, limit: int):  # type: ignore[no-untyped-def]
        return await runtime.store.read_after(position, limit)

    app.include_router(feed_router(read_after, feed_scope(runtime.name)))
    for router in routers:
        app.include_router(router)
    return app


def _metric_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def correlation_and_timing(
    metrics: ServiceMetrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        request.state.correlation_id = correlation
        structlog.contextvars.bind_contextvars(correlation_id=correlation)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
        route = request.scope.get("route")
        metrics.requests.labels(
            request.method, getattr(route, "path", "unmatched"), str(response.status_code)
        ).observe(time.perf_counter() - started)
        response.headers[CORRELATION_HEADER] = correlation
        return response

    return middleware
