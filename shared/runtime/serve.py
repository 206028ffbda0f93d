"""Serves one carepair app with uvicorn, giving up on requests whose head never arrives.

uvicorn waits for ever for the head (request line and headers) of a request: a client that
opens connections and sends half a request holds each one, and its file descriptor, until it
leaves. `HeadDeadlineProtocol` closes a connection whose request head is not complete within
`head_timeout` seconds of the connection or of the request's first byte. The body has its own
bound (`shared/web/limits.py`), and idle keep-alive connections uvicorn's own.

    python -m shared.runtime.serve services.visits.bootstrap:create_app --port 8082
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT_SECONDS = 10.0


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's head."""

    head_timeout = HEAD_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.cycle is None or self.cycle.response_complete:  # no request in progress
            if not self.transport.is_closing():
                self.transport.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.runtime.serve", description=__doc__)
    parser.add_argument(
        "app", help="module:factory of the app, e.g. services.visits.bootstrap:create_app"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=10)
    parser.add_argument("--head-timeout", type=float, default=HEAD_TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    HeadDeadlineProtocol.head_timeout = args.head_timeout
    uvicorn.run(
        args.app,
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        http=HeadDeadlineProtocol,
    )


if __name__ == "__main__":
    main()
