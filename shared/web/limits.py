"""Bounds every request before a route sees it: its headers, its body, and how slowly it comes.

One request must not stop the system: a header the size of a book becomes an event no message
can carry, a body of 50 MB read into memory eight times over takes the process down, and a
body that never finishes holds a connection and its file descriptor for ever. So, at the edge
of every carepair process:

- the headers together are at most `max_header_bytes`, and carepair's own headers
  (`Carepair-*`, `X-Correlation-Id`) are short printable ASCII (431 / 400);
- a body announced larger than `max_body_bytes` is refused before a byte of it is read, and one
  that turns out larger while it streams in is refused as soon as it passes the limit (413);
- a body whose next part takes longer than `body_timeout` seconds to arrive is given up (408).

Every refusal answers in the one error shape (`shared/web/errors.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypedDict

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from shared.web.errors import ApiError, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
BODY_TIMEOUT_SECONDS = 30.0
# carepair's own headers: each at most this long, printable ASCII only.
OWN_HEADERS = {
    b"carepair-actor": 200,
    b"carepair-await": 1000,
    b"carepair-position": 100,
    b"x-correlation-id": 100,
}


class LimitOptions(TypedDict):
    """The options of `RequestLimits`, as settings give them."""

    max_body_bytes: int
    max_header_bytes: int
    body_timeout: float


class BodyRefused(HTTPException):
    """A body refused while it streams in; an HTTP error, so no route mistakes it for bad JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


class RequestLimits:
    """ASGI middleware that refuses oversized or malformed requests in the one error shape."""

    def __init__(
        self,
        app: App,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_header_bytes: int = MAX_HEADER_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check_headers(scope["headers"])
        if refusal is not None:
            await _answer(refusal, scope, receive, send)
            return
        await self.app(scope, self._bounded(receive), send)

    def _check_headers(self, headers: list[tuple[bytes, bytes]]) -> ApiError | None:
        size = sum(len(name) + len(value) for name, value in headers)
        if size > self.max_header_bytes:
            return ApiError(
                431, "headers_too_large", f"the headers are {size} bytes; at most {self.max_header_bytes}"
            )
        for name, value in headers:
            limit = OWN_HEADERS.get(name)
            if limit is not None:
                if len(value) > limit:
                    return ApiError(
                        400, "invalid_header", f"{name.decode()} is {len(value)} bytes long; at most {limit}"
                    )
                if not all(0x20 <= byte < 0x7F for byte in value):
                    return ApiError(
                        400, "invalid_header", f"{name.decode()} may hold printable ASCII characters only"
                    )
            if name == b"content-length":
                if not value.isdigit():
                    return ApiError(400, "invalid_header", "Content-Length must be a number of bytes")
                if int(value) > self.max_body_bytes:
                    return _too_large(self.max_body_bytes)
        return None

    def _bounded(self, receive: Receive) -> Receive:
        received = 0

        async def bounded() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise BodyRefused(
                    408, "request_timeout", f"the body did not arrive within {self.body_timeout:g} s"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyRefused(413, "body_too_large", _too_large(self.max_body_bytes).message)
            return message

        return bounded


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")


async def _answer(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(error_body(error.code, error.message, error.details), status_code=error.status)
    await response(scope, receive, send)
