"""`carepair up` under faults: signals, killed children, a second launcher, Ctrl-C mid-demo.

Each test starts the real launcher on free ports and a data directory of its own, sends real
signals, and checks with HTTP and the process table that nothing is left behind.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.launcher.nats_server import listening
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
    ports = [system.port_base + i for i in range(5)] + [_nats_port(system)]
    return [port for port in ports if listening(port)]


def test_closing_the_terminal_stops_every_process(launcher: Callable[..., Carepair]) -> None:
    system = launcher()
    system.start(tty=True)
    family = system.family()
    assert len(family) >= 6
    assert system.hang_up() == 0
    assert survivors(family) == []
    assert _ports_in_use(system) == []


def test_a_launcher_killed_with_sigkill_takes_every_child_with_it(
    launcher: Callable[..., Carepair],
) -> None:
    system = launcher()
    system.start()
    family = system.family()
    assert len(family) >= 6
    assert system.signal(signal.SIGKILL) == -signal.SIGKILL
    assert survivors(family) == []
    assert _ports_in_use(system) == []
