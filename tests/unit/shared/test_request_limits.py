"""Every carepair process bounds its requests at the edge, in the one error shape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from shared.web.consistency import parse_tokens
from shared.web.errors import ApiError, install_error_handlers
from shared.web.limits import RequestLimits


class Body(BaseModel):
    text: str


def app(**limits: Any) -> FastAPI:
    application = FastAPI()
    install_error_handlers(application)
    application.add_middleware(RequestLimits, **limits)
    application.state.reached = 0

    @application.post("/things")
    async def things(body: Body, request: Request) -> dict[str, int]:
        request.app.state.reached += 1
        return {"length": len(body.text)}

    @application.get("/await")
    async def awaited(request: Request) -> dict[str, int]:
        return parse_tokens(request.headers.get("carepair-await", ""))

    return application


async def call(application: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.request(method, path, **kwargs)


def error(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_a_body_within_the_limit_goes_through() -> None:
    answer = await call(app(max_body_bytes=1024), "POST", "/things", json={"text": "好" * 100})
    assert answer.status_code == 200 and answer.json() == {"length": 100}


async def test_a_body_announced_too_large_is_refused_before_the_route_runs() -> None:
    application = app(max_body_bytes=1024)
    answer = await call(application, "POST", "/things", json={"text": "x" * 2000})
    assert answer.status_code == 413 and error(answer) == "body_too_large"
    assert application.state.reached == 0


async def test_a_header_the_size_of_a_book_is_refused() -> None:
    answer = await call(app(), "POST", "/things", json={"text": "x"}, headers={"X-Note": "x" * 20_000})
    assert answer.status_code == 431 and error(answer) == "headers_too_large"


@pytest.mark.parametrize(
    "name,value",
    [
        ("Carepair-Actor", b"a" * 201),
        ("Carepair-Actor", "操作员".encode()),
        ("Carepair-Actor", b"operator:\x01"),
        ("Carepair-Await", "visits:²".encode()),
    ],
    ids=["long", "utf-8", "control", "await-utf-8"],
)
async def test_a_carepair_header_that_is_long_or_not_printable_ascii_is_a_400(
    name: str, value: bytes
) -> None:
    answer = await call(app(), "POST", "/things", json={"text": "x"}, headers={name: value})
    assert answer.status_code == 400 and error(answer) == "invalid_header"


@pytest.mark.parametrize("token", [b"visits:", b"visits:99999999999999999999", b":4", b"visits:4x"])
async def test_a_malformed_await_token_is_a_400_in_the_error_shape(token: bytes) -> None:
    answer = await call(app(), "GET", "/await", headers={"Carepair-Await": token})
    assert answer.status_code == 400 and error(answer) == "bad_position_token"


def test_a_position_token_takes_ascii_digits_only() -> None:
    assert parse_tokens("visits:42, pairing:7") == {"visits": 42, "pairing": 7}
    with pytest.raises(ApiError):
        parse_tokens("visits:٤٢")  # Arabic-Indic digits pass str.isdigit()


async def _raw(
    application: FastAPI, headers: list[tuple[bytes, bytes]], parts: list[Any]
) -> tuple[int, dict]:
    """Runs one request whose body arrives in `parts`.

    A part is bytes, a float (a pause in seconds before the next part), or None (the client
    never sends another byte).
    """
    queue = list(parts)
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        pause = queue.pop(0) if isinstance(queue[0], float) else 0.0
        await asyncio.sleep(pause)
        if queue[0] is None:
            await asyncio.Event().wait()  # the client never sends the rest
        taken += 1
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/things",
        "raw_path": b"/things",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "server": ("svc", 80),
        "client": ("127.0.0.1", 1),
        "scheme": "http",
        "root_path": "",
    }
    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {"taken": taken, **json.loads(body)}


async def test_a_streamed_body_is_refused_once_it_passes_the_limit_without_reading_the_rest() -> None:
    chunks = [b'{"text": "' + b"x" * 600] + [b"x" * 600] * 50
    status, answer = await _raw(app(max_body_bytes=1024), [(b"transfer-encoding", b"chunked")], chunks)
    assert status == 413 and answer["error"]["code"] == "body_too_large"
    assert answer["taken"] == 2  # stopped at the chunk that passed the limit


async def test_a_body_that_stops_arriving_is_given_up() -> None:
    status, answer = await _raw(app(body_timeout=0.2), [(b"content-length", b"100")], [b'{"text": "x', None])
    assert status == 408 and answer["error"]["code"] == "request_timeout"


async def test_a_slow_body_that_keeps_coming_is_taken() -> None:
    parts = [b'{"text": ', 0.05, b'"slow"', 0.05, b"}"]
    status, answer = await _raw(app(body_timeout=0.2), [(b"content-length", b"16")], parts)
    assert status == 200 and answer["length"] == 4
