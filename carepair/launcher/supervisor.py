"""Keeps the launcher's children running: one that dies starts again alone, after a backoff."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from carepair.launcher.console import say
from carepair.launcher.process import signal_group, spawn, stop_groups

LONGEST_BACKOFF = 30.0


@dataclass(frozen=True)
class ChildSpec:
    """How to start one child, and where an operator reads what it wrote."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    log: Path | None  # None: it writes to the launcher's own output
    stdout: int | None = None
    pass_fds: tuple[int, ...] = ()
    die_with_launcher: bool = True


@dataclass(frozen=True)
class RestartPolicy:
    """How long a dead child waits to start again, and how many deaths in a window end it all."""

    limit: int
    window: float
    backoff: float

    def delay(self, deaths: int) -> float | None:
        """The wait after the `deaths`-th death within the window, or None when that is one too many."""
        if deaths >= self.limit:
            return None
        return float(min(self.backoff * 2 ** (deaths - 1), LONGEST_BACKOFF))


class CrashLoop(Exception):
    """A child died as often within the window as the restart limit allows: carepair stops."""


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None


def describe(status: int) -> str:
    """An exit status in words: a negative one is the signal that killed the process."""
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


class Supervisor:
    """The running children by name; `check` restarts the dead ones and raises `CrashLoop`."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self._children: dict[str, _Child] = {}

    def start(self, spec: ChildSpec) -> None:
        """Starts the child, which from now on is restarted when it dies."""
        child = self._children.setdefault(spec.name, _Child(spec))
        child.process = spawn(
            spec.command, spec.env, spec.stdout, spec.pass_fds, die_with_launcher=spec.die_with_launcher
        )

    def pid(self, name: str) -> int | None:
        """The process id of the child's current start, if it has one."""
        child = self._children.get(name)
        return child.process.pid if child and child.process else None

    def check(self) -> None:
        """Notices children that died and starts those whose backoff is over."""
        now = time.monotonic()
        for child in self._children.values():
            if child.process is not None and child.process.poll() is not None:
                self._died(child, child.process.returncode, now)
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                self.start(child.spec)
                assert child.process is not None
                say(f"carepair: {child.spec.name} started again (pid {child.process.pid})", problem=True)

    def _died(self, child: _Child, status: int, now: float) -> None:
        assert child.process is not None
        signal_group(child.process, signal.SIGKILL)  # whatever it started goes with it
        child.process = None
        child.deaths = [t for t in child.deaths if now - t < self.policy.window] + [now]
        name, window, deaths = child.spec.name, self.policy.window, len(child.deaths)
        log = f" Its log: {child.spec.log}" if child.spec.log else ""
        delay = self.policy.delay(deaths)
        if delay is None:
            raise CrashLoop(
                f"{name} keeps dying ({deaths} times within {window:g} s, the last time it "
                f"{describe(status)}); stopping carepair.{log}"
            )
        child.restart_at = now + delay
        say(
            f"carepair: {name} {describe(status)}; restarting it in {delay:g} s ({deaths} "
            f"{'death' if deaths == 1 else 'deaths'} within {window:g} s; carepair stops at "
            f"{self.policy.limit}).{log}",
            problem=True,
        )

    def stop(self, names: Sequence[str], timeout: float, terminate: bool = True) -> None:
        """Stops these children together and restarts them no more; without `terminate`, waits for them."""
        stopping = [self._children.pop(name) for name in names if name in self._children]
        stop_groups([c.process for c in stopping if c.process is not None], timeout, terminate)
