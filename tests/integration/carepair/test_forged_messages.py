"""A message published on a producer's subjects by anyone but its relay is never applied.

Without NATS users (the suite's NATS has none, as a NATS someone misconfigured would), anybody
can publish at visits' next position. The reporting consumer used to count such a forgery and
then skip the real event at that position for good. It now checks each message's signature,
refuses the forgery, and takes the real event from the feed or from the relay's message.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest

from services.reporting.bootstrap import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from services.visits.bootstrap import create_app as visits_app
from services.visits.settings import VisitsSettings
from tests.support.service_app import TOKEN, auth_headers, running_app, serving, settings_values

pytestmark = [pytest.mark.nats]


def visit(pairing: uuid.UUID) -> dict[str, str]:
    return {
        "pairing_id": str(pairing),
        "subject_id": "s-1",
        "cadre_id": "c-1",
        "mode": "phone",
        "happened_on": "2026-03-01",
        "record": "电话联系，了解近况",
    }


def awaiting(position: int) -> dict[str, str]:
    return {"Carepair-Await": f"visits:{position}"}


def forged_from(event: dict[str, Any], pairing: uuid.UUID) -> dict[str, Any]:
    """Visit 1 copied to position 2, about another pairing: what a forger would publish."""
    new = uuid.uuid4()
    data = {**event["data"], "visit_id": str(new), "pairing_id": str(pairing), "mode": "home"}
    return {**event, "event_id": str(uuid.uuid4()), "position": 2, "stream_id": f"visit-{new}", "data": data}


async def test_a_message_forged_at_the_next_position_is_refused_and_the_real_event_counted(
    tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> None:
    values = settings_values(tmp_path, nats_url, stream_name)
    first, real, forged_pairing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with serving(visits_app(VisitsSettings(**values))) as visits_url:
        reporting = reporting_app(ReportingSettings(**{**values, "visits_url": visits_url}))
        async with (
            httpx.AsyncClient(base_url=visits_url, headers=auth_headers("visits")) as visits,
            running_app(reporting) as compliance,
        ):
            logged = await visits.post("/visits", json=visit(first))
            assert logged.headers["Carepair-Position"] == "visits:1"
            shown = await compliance.get(f"/compliance/pairings/{first}", headers=awaiting(1))
            assert shown.json()["contacts"] == 1, shown.text

            feed = await visits.get("/feed/events", headers={"Authorization": f"Bearer {TOKEN}"})
            forged = forged_from(feed.json()["events"][0], forged_pairing)
            nc = await nats.connect(nats_url)
            try:
                await nc.jetstream().publish(
                    f"{stream_name.lower()}.visits.VisitLogged",
                    orjson.dumps(forged),
                    headers={
                        "Nats-Msg-Id": forged["event_id"],
                        "Carepair-Position": "2",
                        "Carepair-Producer": "visits",
                        "Carepair-Event-Type": "VisitLogged",
                    },
                )
            finally:
                await nc.close()
            # Give the consumer its chance to take it: waiting for position 2 ends when it
            # applies something there, or after the 2 s consistency wait.
            await compliance.get(f"/compliance/pairings/{forged_pairing}", headers=awaiting(2))

            logged = await visits.post("/visits", json=visit(real))
            assert logged.headers["Carepair-Position"] == "visits:2"
            shown = await compliance.get(f"/compliance/pairings/{real}", headers=awaiting(2))
            assert shown.status_code == 200, shown.text
            assert shown.json()["contacts"] == 1, "the real event at position 2 was skipped"
            fake = await compliance.get(f"/compliance/pairings/{forged_pairing}")
            assert (fake.json()["contacts"], fake.json()["visits"]) == (0, 0), "the forgery was counted"

            ready = await compliance.get("/readyz")
            assert ready.json()["forged:visits"].startswith("1 message(s)"), ready.text
            assert ready.json()["ready"] is True, "a refused forgery does not make the service unready"
            metrics = (await compliance.get("/metrics")).text
            assert "carepair_consumer_forged_messages 1.0" in metrics
