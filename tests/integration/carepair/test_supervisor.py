"""The launcher's supervisor with real child processes: restarts, backoff, crash loops, groups."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from carepair.launcher.supervisor import ChildSpec, CrashLoop, RestartPolicy, Supervisor, describe
from tests.support.launcher import survivors

SLEEP = "import time; time.sleep(60)"


def _spec(tmp_path: Path, name: str, code: str) -> ChildSpec:
    return ChildSpec(name, (sys.executable, "-c", code), dict(os.environ), tmp_path / f"{name}.log")


def _until(supervisor: Supervisor, condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        supervisor.check()
        time.sleep(0.02)


def test_the_backoff_doubles_up_to_a_ceiling_and_the_limit_gives_up() -> None:
    policy = RestartPolicy(limit=8, window=60, backoff=2)
    assert [policy.delay(n) for n in range(1, 9)] == [2, 4, 8, 16, 30, 30, 30, None]
    assert describe(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe(2) == "exited with status 2"


def test_a_child_that_dies_starts_again_and_the_others_are_left_alone(tmp_path: Path) -> None:
    supervisor = Supervisor(RestartPolicy(limit=3, window=60, backoff=0.05))
    supervisor.start(_spec(tmp_path, "steady", SLEEP))
    supervisor.start(_spec(tmp_path, "fragile", SLEEP))
    steady, fragile = supervisor.pid("steady"), supervisor.pid("fragile")
    assert steady and fragile
    try:
        os.kill(fragile, signal.SIGKILL)
        _until(supervisor, lambda: supervisor.pid("fragile") not in (None, fragile))
        assert supervisor.pid("steady") == steady
    finally:
        supervisor.stop(["steady", "fragile"], timeout=5)


def test_a_child_that_keeps_dying_is_a_crash_loop_that_names_it_and_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(RestartPolicy(limit=3, window=60, backoff=0.01))
    supervisor.start(_spec(tmp_path, "broken", "raise SystemExit(2)"))
    expected = (
        r"broken keeps dying \(3 times within 60 s, the last time it exited with status 2\); "
        rf"stopping carepair\. Its log: {tmp_path / 'broken.log'}"
    )
    try:
        with pytest.raises(CrashLoop, match=expected):
            _until(supervisor, lambda: False)
    finally:
        supervisor.stop(["broken"], timeout=5)


def test_deaths_older_than_the_window_are_forgotten(tmp_path: Path) -> None:
    supervisor = Supervisor(RestartPolicy(limit=2, window=0.2, backoff=0.01))
    supervisor.start(_spec(tmp_path, "slow", "import time; time.sleep(0.4)"))
    starts: set[int | None] = set()

    def started_four_times() -> bool:
        starts.add(supervisor.pid("slow"))
        return len(starts - {None}) >= 4

    try:
        # Each start lives longer than the window, so no two deaths fall within it.
        _until(supervisor, started_four_times)
    finally:
        supervisor.stop(["slow"], timeout=5)


def test_what_a_child_started_goes_with_it_when_it_dies_and_when_it_is_stopped(tmp_path: Path) -> None:
    # The child starts a grandchild in its own process group and writes its pid down.
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen(['sleep', '60']); "
        f"open({str(tmp_path / 'grandchild')!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    supervisor = Supervisor(RestartPolicy(limit=3, window=60, backoff=0.05))
    supervisor.start(_spec(tmp_path, "parent", code))
    pidfile = tmp_path / "grandchild"
    try:
        _until(supervisor, lambda: pidfile.exists() and pidfile.read_text() != "")
        first, parent = psutil.Process(int(pidfile.read_text())), supervisor.pid("parent")
        pidfile.unlink()
        assert parent
        os.kill(parent, signal.SIGKILL)
        _until(supervisor, lambda: pidfile.exists() and pidfile.read_text() != "")
        assert survivors([first]) == []
        second = psutil.Process(int(pidfile.read_text()))
    finally:
        supervisor.stop(["parent"], timeout=5)
    assert survivors([second]) == []
