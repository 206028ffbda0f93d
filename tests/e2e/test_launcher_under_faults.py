"""`carepair up` under faults: signals, killed children, a second launcher, Ctrl-C mid-demo.

Each test starts the real launcher on free ports and a data directory of its own, sends real
signals, and checks with HTTP and the process table that nothing is left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from carepair.launcher.nats_server import listening
from shared.roster import ROSTER, member
from tests.support.launcher import Carepair, survivors

pytestmark = pytest.mark.e2e

EMBEDDED = {"CAREPAIR_NATS_URL": "", "CAREPAIR_DATABASE_URL": ""}


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Callable[..., Carepair]]:
    """Makes launchers on `tmp_path/var`; whatever they leave running is killed afterwards."""
    made: list[Carepair] = []

    def make(**env: str) -> Carepair:
        made.append(Carepair(tmp_path / "var", {**EMBEDDED, **env}))
        return made[-1]

    yield make
    for system in made:
        system.clean_up()


def _nats_port(system: Carepair) -> int:
    line = next(line for line in system.output if line.strip().startswith("nats "))
    return int(line.split("nats://127.0.0.1:")[1].split()[0])


def _ports_in_use(system: Carepair) -> list[int]:
    ports = [m.port(system.port_base) for m in ROSTER] + [_nats_port(system)]
    return [port for port in ports if listening(port)]


def test_closing_the_terminal_stops_every_process(launcher: Callable[..., Carepair]) -> None:
    system = launcher()
    system.start(tty=True)
    family = system.family()
    assert len(family) >= 6
    assert system.hang_up() == 0
    assert survivors(family) == []
    assert _ports_in_use(system) == []


def test_a_second_launcher_is_refused_and_a_killed_one_leaves_nothing_behind(
    launcher: Callable[..., Carepair],
) -> None:
    system = launcher()
    system.start()
    nats_log = system.data_dir / "nats" / "nats-server.log"
    nats_starts = nats_log.read_text().count("Starting nats-server")

    second = launcher()  # the same data directory, other ports
    second.start(wait=False)
    assert second.wait(60) == 1
    refusal = second.rest_of_output()
    assert f"another carepair up (pid {system.pid}) is using {system.data_dir}" in refusal
    assert nats_log.read_text().count("Starting nats-server") == nats_starts  # it started nothing

    family = system.family()
    assert len(family) >= 6
    assert system.signal(signal.SIGKILL) == -signal.SIGKILL
    assert survivors(family) == []
    assert _ports_in_use(system) == []
    # The children stopped as on SIGTERM, and their last lines still reached their logs.
    assert '"event": "service.stopped"' in (system.data_dir / "visits.log").read_text()
    with (system.data_dir / "carepair.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no stale lock: the next launcher may start


def _ready(system: Carepair, timeout: float = 60) -> None:
    """Waits until the gateway reports every service ready, NATS and relays included."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{system.gateway}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the gateway did not report every service ready")


def test_a_child_that_dies_is_restarted_alone_and_one_that_keeps_dying_stops_carepair(
    launcher: Callable[..., Carepair],
) -> None:
    system = launcher(
        CAREPAIR_RESTART_LIMIT="3",
        CAREPAIR_RESTART_WINDOW_SECONDS="600",
        CAREPAIR_RESTART_BACKOFF_SECONDS="0.1",
        CAREPAIR_LOG_MAX_BYTES="300",  # a JSON line of a service is about 170 bytes
        CAREPAIR_LOG_BACKUPS="2",
    )
    system.start()
    _ready(system)
    others = [m.name for m in ROSTER if m.name != "visits"]
    pids = {name: system.child(name).pid for name in [*others, "nats"]}

    visits = system.child("visits")
    visits.kill()
    pairing = httpx.get(f"http://127.0.0.1:{member('pairing').port(system.port_base)}/healthz", timeout=5)
    assert pairing.status_code == 200  # the rest keep serving while visits is away
    system.wait_for_line("visits was killed by SIGKILL; restarting it")
    assert system.child("visits", other_than=visits.pid).pid != visits.pid
    _ready(system)

    nats = system.child("nats")
    nats.kill()
    system.wait_for_line("nats was killed by SIGKILL; restarting it")
    system.child("nats", other_than=nats.pid)
    _ready(system)  # the services reconnected to the new NATS

    writer = system.child("log writer")
    writer_killed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as the services write it
    writer.kill()
    system.wait_for_line("log writer was killed by SIGKILL; restarting it")
    system.child("log writer", other_than=writer.pid)
    del pids["nats"]
    assert {name: system.child(name).pid for name in pids} == pids
    assert system.process is not None and system.process.poll() is None

    # notify now dies three times within the window: the third death ends carepair.
    notify = system.child("notify")
    for _ in range(2):
        notify.kill()
        notify = system.child("notify", other_than=notify.pid)
    family = system.family()
    notify.kill()
    assert system.wait() == 3
    output = system.rest_of_output()
    assert "notify keeps dying (3 times within 600 s" in output
    assert f"Its log: {system.data_dir / 'notify.log'}" in output
    assert survivors(family) == []

    # The logs rotated, the services' (across their restarts) and the embedded NATS's alike.
    for log in [system.data_dir / "notify.log", system.data_dir / "nats" / "nats-server.log"]:
        kept = [log, log.with_name(f"{log.name}.1"), log.with_name(f"{log.name}.2")]
        assert all(path.exists() for path in kept)
        assert not log.with_name(f"{log.name}.3").exists()
        for path in kept:
            content = path.read_bytes()
            assert len(content) <= 300 or content.count(b"\n") == 1, path  # rotated between lines
    # What pairing wrote as it stopped, after the log writer's restart, reached its log.
    lines = [json.loads(line) for line in (system.data_dir / "pairing.log").read_text().splitlines()]
    assert lines[-1]["event"] == "service.stopped"
    assert lines[-1]["timestamp"] > writer_killed


def test_ctrl_c_during_the_demo_load_stops_without_waiting_for_it(launcher: Callable[..., Carepair]) -> None:
    system = launcher()
    system.start(demo=True, wait=False)
    system.wait_for_line("Press Ctrl-C", timeout=90)  # the demo load begins right after this line
    family = system.family()
    assert system.stop() == 0
    assert "demo: 和政县" not in system.rest_of_output()
    assert not (system.data_dir / "demo-loaded").exists()  # the load did not go on to its end
    assert survivors(family) == []
