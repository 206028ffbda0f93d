"""`carepair up` as a child process of a test, on free ports and a data directory of its own."""

from __future__ import annotations

import os
import pty
import random
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from shared.roster import ROSTER, member


def free_port_run(width: int | None = None) -> int:
    """A run of free ports below the kernel's range for outgoing connections, one per process.

    A port taken from that range (by binding to port 0) can be taken again by any outgoing
    connection, the services' own included, before the service that was meant to listen on
    it binds; then it fails with "address already in use".
    """
    width = 1 + max(m.port_offset for m in ROSTER) if width is None else width
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
    """`carepair up` as a child process; its output goes to a pipe, or to a terminal with `tty`."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port_base = free_port_run()
        self.gateway = f"http://127.0.0.1:{self.port_base}"
        self.process: subprocess.Popen[bytes] | None = None
        self.output: list[str] = []
        self._terminal: int | None = None
        self._pending = b""
        self._seen: dict[int, psutil.Process] = {}

    def start(self, demo: bool = False, tty: bool = False, wait: bool = True) -> None:
        """Starts it; unless told not to wait, returns once it serves (and, with `demo`, has loaded)."""
        self.output = []
        self._pending = b""
        terminal = None
        if tty:
            self._terminal, terminal = pty.openpty()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "carepair.cli",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port-base",
                str(self.port_base),
                *(["--demo"] if demo else []),
            ],
            env={**os.environ, **self.env},
            stdout=terminal if tty else subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if terminal is not None:
            os.close(terminal)
        if wait:
            self.wait_for_line("demo:" if demo else "Press Ctrl-C", timeout=90)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        """Reads output until a line containing `text`; fails with what was read if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self._next_line(deadline - time.monotonic())
            if line is None:
                break
            if text in line:
                return line
        self.kill()
        raise AssertionError(f"no line with {text!r}:\n" + "".join(self.output) + self._logs())

    def _next_line(self, timeout: float) -> str | None:
        source = self._source()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            ready, _, _ = select.select([source], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            try:
                chunk = os.read(source, 65536)
            except OSError:  # a terminal whose other side has closed reads as EIO, not EOF
                chunk = b""
            if not chunk:
                if not self._pending:
                    return None
                self._pending += b"\n"  # its last line, which it did not end
                break
            self._pending += chunk
        raw, _, self._pending = self._pending.partition(b"\n")
        line = raw.decode(errors="replace").rstrip("\r") + "\n"
        self.output.append(line)
        return line

    def _source(self) -> int:
        if self._terminal is not None:
            return self._terminal
        assert self.process is not None and self.process.stdout is not None
        return self.process.stdout.fileno()

    def rest_of_output(self, timeout: float = 30) -> str:
        """Everything it writes until it closes its output."""
        deadline = time.monotonic() + timeout
        while self._next_line(deadline - time.monotonic()) is not None:
            pass
        return "".join(self.output)

    def _logs(self) -> str:
        return "".join(
            f"\n--- {log.name}\n" + log.read_text(errors="replace")[-3000:]
            for log in sorted(self.data_dir.glob("*.log"))
        )

    def stop(self) -> int:
        return self.signal(signal.SIGINT)

    def signal(self, signum: int, timeout: float = 45) -> int:
        """Sends `signum` and returns the exit status once it has exited."""
        assert self.process is not None
        self.process.send_signal(signum)
        return self.wait(timeout)

    def wait(self, timeout: float = 45) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def hang_up(self) -> int:
        """Closes its terminal, then sends the SIGHUP that a shell sends its jobs when that happens."""
        assert self._terminal is not None
        os.close(self._terminal)
        self._terminal = None
        return self.signal(signal.SIGHUP)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def family(self) -> list[psutil.Process]:
        """Every process it started, and theirs."""
        try:
            found = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self._seen.update((p.pid, p) for p in found)
        return found

    def clean_up(self) -> None:
        """Kills it and whatever it started that still runs, so a failing test leaves nothing behind."""
        if self.process is not None and self.process.poll() is None:
            self.family()
            self.kill()
        for process in self._seen.values():
            if _running(process):
                process.kill()
        if self._terminal is not None:
            os.close(self._terminal)
            self._terminal = None

    def child(self, name: str, timeout: float = 30, other_than: int | None = None) -> psutil.Process:
        """Its process for `name` (a service, "gateway", "nats", "log writer"), waiting for one to run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.family():
                if _is(process, name) and process.pid != other_than:
                    return process
            time.sleep(0.05)
        raise AssertionError(f"no {name} process under carepair up: {self.family()}")

    def children_alive(self) -> list[str]:
        found = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        return [line for line in found.splitlines() if str(self.data_dir) in line and "pytest" not in line]


def _is(process: psutil.Process, name: str) -> bool:
    try:
        command = process.cmdline()
    except psutil.Error:
        return False
    if name == "nats":
        return bool(command) and Path(command[0]).name == "nats-server"
    if name == "log writer":
        return "carepair.launcher.logwriter" in command
    return member(name).app in command  # the app factory the roster names, as the launcher serves it


def survivors(processes: list[psutil.Process], timeout: float = 30) -> list[str]:
    """Those of `processes` still running after up to `timeout` seconds; zombies count as gone."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() > deadline:
            return [f"{p.pid} {' '.join(_command(p))}" for p in alive]
        time.sleep(0.1)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _command(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return ["?"]
