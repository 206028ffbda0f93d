"""`carepair up` as a child process of a test, on free ports and a data directory of its own."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port_run(width: int = 5) -> int:
    """A run of free ports below the kernel's range for outgoing connections.

    A port taken from that range (by binding to port 0) can be taken again by any outgoing
    connection, the services' own included, before the service that was meant to listen on
    it binds; then it fails with "address already in use".
    """
    low = _ephemeral_range_start()
    for _ in range(200):
        base = random.randrange(min(20_000, low // 2), low - width)
        if all(bindable(base + i) for i in range(width)):
            return base
    raise RuntimeError("no run of free ports")


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; other systems start higher


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Carepair:
    """`carepair up` as a child process."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port_base = free_port_run()
        self.gateway = f"http://127.0.0.1:{self.port_base}"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, demo: bool = False) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shared.launcher.cli",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port-base",
                str(self.port_base),
                *(["--demo"] if demo else []),
            ],
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if ("demo:" in line) if demo else ("Press Ctrl-C" in line):
                self.output = lines
                return
        self.stop()
        raise AssertionError("carepair up did not start:\n" + "".join(lines) + self._logs())

    def _logs(self) -> str:
        return "".join(
            f"\n--- {log.name}\n" + log.read_text(errors="replace")[-3000:]
            for log in sorted(self.data_dir.glob("*.log"))
        )

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def children_alive(self) -> list[str]:
        found = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        return [line for line in found.splitlines() if str(self.data_dir) in line and "pytest" not in line]
