"""Routes that take many rows in one request and answer each row as its own request would.

An import sends a county's list a few hundred rows at a time. Each row is checked and decided
on its own; a row that is refused fails alone, with the status and the error body (the shared
shape of `shared/web/errors.py`) that the single-row route answers for the same row, so a
client keeps its row-by-row report and its retries:

    {"results": [{"index": 0, "status": 201, "id": "s-…", "position": "pairing:41"},
                 {"index": 1, "status": 422, "error": {"code": "invalid_input", …}}],
     "created": 1, "refused": 1}

A row's error comes from the very exception handlers the app answers single requests with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

T = TypeVar("T")

#: Rows one batch request may carry: a few hundred rows stay well under the body limit.
MAX_ROWS = 500


class RowOutcome(BaseModel):
    """One row's answer: its status as the single-row route would give it, and its id or error."""

    index: int
    status: int
    id: str | None = None
    position: str | None = None
    error: dict[str, Any] | None = None


class BatchAnswer(BaseModel):
    results: list[RowOutcome]
    created: int
    refused: int


def parse_row(parse: Callable[[Any], T], raw: Any) -> T | Exception:
    """`parse(raw)`, or the exception it raised; a validation error is placed under `body`.

    A single-row route's validation errors name fields as `body.<field>`; a row's do too.
    """
    try:
        return parse(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error.get("loc", ()))} for error in exc.errors()]
        return RequestValidationError(errors)
    except Exception as exc:  # the row's own refusal (an ID number's check digit, say)
        return exc


async def error_of(request: Request, exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and error body the app's own handler answers `exc` with."""
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response = await handler(request, exc)
            body = json.loads(bytes(response.body))
            return response.status_code, body.get("error", body)
    raise exc  # no handler at all: the request fails as it would have alone


async def answer(
    request: Request,
    outcomes: Sequence[tuple[str | None, str | Exception]],
    *,
    status: int = 201,
) -> BatchAnswer:
    """Each row's (id, position token or exception) as the rows' answer, in row order."""
    results: list[RowOutcome] = []
    for index, (id_, outcome) in enumerate(outcomes):
        if isinstance(outcome, Exception):
            code, error = await error_of(request, outcome)
            results.append(RowOutcome(index=index, status=code, id=id_, error=error))
        else:
            results.append(RowOutcome(index=index, status=status, id=id_, position=outcome))
    created = sum(1 for r in results if r.error is None)
    return BatchAnswer(results=results, created=created, refused=len(results) - created)


def rows_field(description: str) -> Any:
    """The `rows` field of a batch body: 1 to `MAX_ROWS` objects, each checked on its own."""
    return Field(min_length=1, max_length=MAX_ROWS, description=description)
