"""Acknowledged writes survive a service killed under load, and NATS killed and wiped.

Clients log contacts through the gateway, each with its own `visit_id`, and retry until they
hear 201 (or 409 `visit_already_logged`: it was committed before). Meanwhile the visits
service is killed with SIGKILL, and later NATS is killed and its JetStream store deleted;
`carepair up` restarts each. At the end every acknowledged contact is in the visits store
exactly once, the positions are dense, and the compliance read model of the reporting
service, fed over JetStream and from the feed, counts every one of them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.launcher import Carepair

pytestmark = pytest.mark.e2e

EMBEDDED = {"CAREPAIR_NATS_URL": "", "CAREPAIR_DATABASE_URL": ""}
PAIRINGS = [uuid.uuid4() for _ in range(3)]
WRITERS = 3
PER_WRITER = 80


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Carepair]:
    running = Carepair(tmp_path / "var", EMBEDDED)
    running.start()
    try:
        yield running
    finally:
        running.clean_up()


class Writers:
    """Threads that log contacts until each is acknowledged, retrying through any outage."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.acknowledged: dict[uuid.UUID, uuid.UUID] = {}  # visit → pairing
        self.retries = 0
        self.last_position = ""
        self._lock = threading.Lock()

    def run(self, writer: int, count: int) -> None:
        with httpx.Client(base_url=self.gateway, timeout=10) as client:
            for n in range(count):
                self._log(client, PAIRINGS[(writer + n) % len(PAIRINGS)], n)

    def _log(self, client: httpx.Client, pairing: uuid.UUID, n: int) -> None:
        visit = uuid.uuid4()
        body = {
            "visit_id": str(visit),
            "pairing_id": str(pairing),
            "subject_id": "s-1",
            "cadre_id": "c-1",
            "mode": ("phone", "home")[n % 2],
            "happened_on": "2026-03-01",
            "record": "电话询问近况",
        }
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                answer = client.post("/api/visits", json=body)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (201, 409):
                if answer.status_code == 409:
                    assert answer.json()["error"]["code"] == "visit_already_logged", answer.text
                with self._lock:
                    self.acknowledged[visit] = pairing
                    if answer.status_code == 201:
                        self.last_position = max(
                            self.last_position, answer.headers["Carepair-Position"], key=_position
                        )
                return
            assert answer is None or answer.status_code in (502, 503), answer.text
            with self._lock:
                self.retries += 1
            time.sleep(0.1)
        raise AssertionError(f"visit {visit} was never acknowledged")

    def during(self, fault: Callable[[], object]) -> None:
        threads = [threading.Thread(target=self.run, args=(w, PER_WRITER)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        fault()
        for thread in threads:
            thread.join(120)
        assert not any(t.is_alive() for t in threads), "a writer never finished"


def _position(token: str) -> int:
    return int(token.rsplit(":", 1)[1]) if token else 0


def _stored(data_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data_dir / "visits.sqlite") as db:
        rows = db.execute("SELECT position, data FROM events ORDER BY position").fetchall()
    return [(position, _visit_id(data)) for position, data in rows]


def _visit_id(data: str) -> str:
    return str(json.loads(data)["visit_id"])


def _counted(system: Carepair, writers: Writers) -> dict[uuid.UUID, int]:
    counts = {}
    with httpx.Client(base_url=system.gateway, timeout=30) as client:
        for pairing in PAIRINGS:
            for _ in range(100):
                shown = client.get(
                    f"/api/compliance/pairings/{pairing}",
                    params={"year": 2026},
                    headers={"Carepair-Await": writers.last_position},
                )
                if shown.status_code == 200:
                    break
                time.sleep(0.2)
            assert shown.status_code == 200, shown.text
            counts[pairing] = shown.json()["contacts"] + shown.json()["visits"]
    return counts


def _expected(writers: Writers) -> dict[uuid.UUID, int]:
    return {p: sum(1 for q in writers.acknowledged.values() if q == p) for p in PAIRINGS}


def test_a_service_killed_under_load_loses_no_acknowledged_write_and_duplicates_none(
    system: Carepair,
) -> None:
    writers = Writers(system.gateway)
    writers.during(lambda: system.child("visits").kill())
    assert len(writers.acknowledged) == WRITERS * PER_WRITER
    stored = _stored(system.data_dir)
    assert [position for position, _ in stored] == list(range(1, len(stored) + 1))  # dense
    assert sorted(v for _, v in stored) == sorted(str(v) for v in writers.acknowledged)  # once each
    assert _counted(system, writers) == _expected(writers)
    print(f"visits killed under load: {len(stored)} writes, {writers.retries} retries")


def test_nats_killed_and_its_store_wiped_loses_nothing(system: Carepair) -> None:
    first = Writers(system.gateway)
    first.run(0, 30)
    assert _counted(system, first) == _expected(first)

    def wipe_nats() -> None:
        nats = system.child("nats")
        nats.kill()
        shutil.rmtree(system.data_dir / "nats" / "jetstream", ignore_errors=True)

    writers = Writers(system.gateway)
    writers.acknowledged.update(first.acknowledged)
    writers.during(wipe_nats)
    assert len(writers.acknowledged) == 30 + WRITERS * PER_WRITER
    stored = _stored(system.data_dir)
    assert [position for position, _ in stored] == list(range(1, len(stored) + 1))
    assert sorted(v for _, v in stored) == sorted(str(v) for v in writers.acknowledged)
    assert _counted(system, writers) == _expected(writers)
