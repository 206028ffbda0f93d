"""The walking skeleton, with real processes started as a user would start them.

`carepair up` starts NATS (embedded, or the one named) and every service; a contact logged
through the gateway becomes an event in the visits store, the relay puts it on JetStream, the
reporting consumer updates its read model, and a query through the gateway shows it. Ctrl-C
stops everything and leaves no process behind; a restart finds every record still there.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import nats
import psycopg
import pytest
from sqlalchemy.engine import URL

from shared.roster import SERVICE_NAMES, member
from tests.support.launcher import Carepair

pytestmark = pytest.mark.e2e


def _visit(pairing: uuid.UUID, mode: str) -> dict[str, str]:
    return {
        "pairing_id": str(pairing),
        "subject_id": "s-1",
        "cadre_id": "c-1",
        "mode": mode,
        "happened_on": "2026-03-01",
        "record": "入户走访，了解近况",
    }


def _exercise(system: Carepair, pairing: uuid.UUID) -> None:
    with httpx.Client(base_url=system.gateway, timeout=10) as client:
        # Each worker reports ready after its first round; that takes a moment after start.
        for _ in range(100):
            health = client.get("/healthz")
            if health.status_code == 200:
                break
            time.sleep(0.1)
        assert health.status_code == 200, health.text
        assert set(health.json()["services"]) == set(SERVICE_NAMES)
        tokens = []
        for mode in ["phone", "wechat", "sms", "letter", "home", "institution"]:
            created = client.post("/api/visits", json=_visit(pairing, mode))
            assert created.status_code == 201, created.text
            tokens.append(created.headers["Carepair-Position"])
        assert tokens[-1].startswith("visits:")
        shown = client.get(
            f"/api/compliance/pairings/{pairing}",
            params={"year": 2026},
            headers={"Carepair-Await": tokens[-1]},
        )
        assert shown.status_code == 200, shown.text
        assert shown.json() | {} == shown.json()
        assert (shown.json()["contacts"], shown.json()["visits"]) == (4, 2)
        assert shown.json()["meets_standard"] is True

        reporting = member("reporting").port(system.port_base)
        scraped = httpx.get(f"http://127.0.0.1:{reporting}/metrics", timeout=5).text
        assert "carepair_projection_position_reporting_compliance_visits" in scraped

        bad = client.post("/api/visits", json={**_visit(pairing, "teleport")})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_input"
        assert any("mode" in d["field"] for d in bad.json()["error"]["details"])


def _run_twice(system: Carepair, check: Callable[[Carepair], None] | None = None) -> None:
    pairing = uuid.uuid4()
    system.start()
    try:
        _exercise(system, pairing)
        if check is not None:
            check(system)
    finally:
        code = system.stop()
    assert code == 0
    assert system.children_alive() == []
    system.start()
    try:
        with httpx.Client(base_url=system.gateway, timeout=10) as client:
            again = client.get(f"/api/compliance/pairings/{pairing}", params={"year": 2026})
            assert (again.json()["contacts"], again.json()["visits"]) == (4, 2)
    finally:
        assert system.stop() == 0
    assert system.children_alive() == []


def _nats_refuses_strangers(system: Carepair) -> None:
    """The embedded NATS the services just used lets in no client without a user of its own."""
    line = next(line for line in system.output if line.strip().startswith("nats "))
    url = line.split()[1]

    async def connect() -> None:
        nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
        await nc.close()

    with pytest.raises(Exception, match="(?i)authorization"):
        asyncio.run(connect())


def test_embedded_defaults_sqlite_and_an_embedded_nats(tmp_path: Path) -> None:
    env = {"CAREPAIR_NATS_URL": "", "CAREPAIR_DATABASE_URL": ""}
    _run_twice(Carepair(tmp_path / "var", env), _nats_refuses_strangers)


def test_the_demo_county_loads_once_with_pairings_and_visits(tmp_path: Path) -> None:
    system = Carepair(tmp_path / "var", {"CAREPAIR_NATS_URL": "", "CAREPAIR_DATABASE_URL": ""})
    system.start(demo=True)
    try:
        summary = system.output[-1]
        assert "和政县" in summary and "pairings" in summary
        pairings = int(summary.split(" pairings")[0].rsplit(" ", 1)[-1])
        assert pairings >= 8
    finally:
        assert system.stop() == 0
    system.start(demo=True)
    try:
        assert system.output[-1].strip() == "demo: already loaded"
    finally:
        assert system.stop() == 0


@pytest.fixture
def pg_base(pg_server_url: URL) -> Iterator[URL]:
    base = pg_server_url.set(database=f"e2e{uuid.uuid4().hex[:8]}")
    yield base
    admin = pg_server_url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{base.database}_%",)
            )
        ]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.nats
def test_postgresql_and_a_given_nats(tmp_path: Path, pg_base: URL, nats_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "CAREPAIR_DATABASE_URL": pg_base.render_as_string(hide_password=False),
        "CAREPAIR_NATS_URL": nats_url,
        "CAREPAIR_STREAM_NAME": f"CAREPAIR_E2E_{suffix.upper()}",
        "CAREPAIR_SUBJECT_PREFIX": f"e2e{suffix}",
    }
    _run_twice(Carepair(tmp_path / "var", env))
