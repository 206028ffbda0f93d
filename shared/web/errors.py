"""The one JSON error shape every carepair endpoint answers with.

    {"error": {"code": "version_conflict", "message": "…", "details": [...],
               "correlation_id": "…"}}

`code` is stable and machine-readable; `message` tells a person what to fix; `details` lists
field-level problems (`{"field": "body.phone", "problem": "…"}`) where there are any.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.contracts.base import UnknownEventType, UnsupportedSchemaVersion
from shared.eventstore.errors import (
    ConcurrencyConflict,
    EventTooLarge,
    StoreClosed,
    StoreUnavailable,
    UnstorableEvent,
)
from shared.personal.keystore import PersonErased

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An error that maps straight to a status, a code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def error_body(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "details": details or []}
    correlation = correlation_id or structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation:
        body["correlation_id"] = correlation
    return {"error": body}


def _respond(error: ApiError, request: Request | None = None) -> JSONResponse:
    # The request's correlation id survives on request.state even where the handler runs
    # outside the middleware that bound it (unexpected errors are handled outermost).
    correlation = getattr(request.state, "correlation_id", None) if request is not None else None
    return JSONResponse(
        error_body(error.code, error.message, error.details, correlation),
        status_code=error.status,
        headers=error.headers,
    )


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
}


DATABASE_DOWN = ApiError(
    503,
    "store_unavailable",
    "the database is unavailable; nothing was saved: retry shortly",
    headers={"Retry-After": "2"},
)


def install_error_handlers(app: FastAPI) -> None:
    """Maps every failure a route can raise to the documented shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _respond(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        return _respond(
            ApiError(422, "invalid_input", "the request has invalid fields: see details", details)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _STATUS_CODES.get(exc.status_code, "http_error")
        return _respond(ApiError(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})))

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return _respond(
            ApiError(
                409,
                "version_conflict",
                f"{exc}: reload and try again",
                [{"stream_id": exc.stream_id, "expected": exc.expected, "actual": exc.actual}],
            )
        )

    @app.exception_handler(EventTooLarge)
    async def _too_large(_: Request, exc: EventTooLarge) -> JSONResponse:
        return _respond(ApiError(413, "event_too_large", f"{exc}: shorten the texts of this request"))

    @app.exception_handler(UnstorableEvent)
    async def _unstorable(_: Request, exc: UnstorableEvent) -> JSONResponse:
        return _respond(ApiError(422, "invalid_input", f"{exc}: remove control characters"))

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("store.unavailable", error=str(exc))
        return _respond(DATABASE_DOWN)

    @app.exception_handler(StoreClosed)
    async def _closed(_: Request, exc: StoreClosed) -> JSONResponse:
        return _respond(
            ApiError(
                503,
                "shutting_down",
                "the service is shutting down: retry shortly",
                headers={"Retry-After": "2"},
            )
        )

    @app.exception_handler(UnknownEventType)
    async def _unknown_type(_: Request, exc: UnknownEventType) -> JSONResponse:
        return _respond(ApiError(422, "unknown_event_type", str(exc)))

    @app.exception_handler(UnsupportedSchemaVersion)
    async def _schema(_: Request, exc: UnsupportedSchemaVersion) -> JSONResponse:
        return _respond(ApiError(422, "unsupported_schema_version", str(exc)))

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(asyncio.TimeoutError)
    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # A read, or the key store before a write, found the database down.
        log.error("database.unavailable", error_type=type(exc).__name__)
        return _respond(DATABASE_DOWN)

    @app.exception_handler(PersonErased)
    async def _erased(_: Request, exc: PersonErased) -> JSONResponse:
        return _respond(
            ApiError(
                409,
                "person_erased",
                "this person's personal data was erased; a new record about them cannot hold any",
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Handled outermost, after the middleware unbound the correlation id: take it from state.
        correlation = getattr(request.state, "correlation_id", None)
        log.error("request.failed", error_type=type(exc).__name__, correlation_id=correlation, exc_info=exc)
        return _respond(
            ApiError(500, "internal_error", "something went wrong on our side; quote the correlation id"),
            request,
        )
