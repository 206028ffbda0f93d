"""A request whose head never arrives does not hold its connection for ever."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from carepair.launcher.nats_server import free_port
from shared.runtime.serve import HeadDeadlineProtocol


@pytest.fixture
def server() -> Iterator[int]:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "ok"}

    port = free_port()
    HeadDeadlineProtocol.head_timeout = 0.5
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=HeadDeadlineProtocol)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.02)
    try:
        yield port
    finally:
        running.should_exit = True
        thread.join(10)


@contextmanager
def connected(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        yield sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False


def test_half_a_request_head_is_given_up(server: int) -> None:
    with connected(server) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: svc\r\n")  # and never the blank line
        assert closed_by_server(sock, within=3)


def test_a_connection_that_never_sends_a_byte_is_given_up(server: int) -> None:
    with connected(server) as sock:
        assert closed_by_server(sock, within=3)


def test_a_head_that_arrives_in_pieces_within_the_deadline_is_served(server: int) -> None:
    with connected(server) as sock:
        for piece in (b"GET /ping HTTP/1.1\r\n", b"Host: svc\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.1)
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b'"pong":"ok"' in answer


def test_a_second_request_on_a_kept_alive_connection_has_its_own_deadline(server: int) -> None:
    with connected(server) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: svc\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /ping HTTP/1.1\r\n")  # the next head, never finished
        assert closed_by_server(sock, within=3)
