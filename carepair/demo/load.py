"""Loads the demo county once over HTTP, like any client, in a process of its own.

The pairing service suggests the pairings and the demo accepts them; each pairing then gets a
few months of contacts and visits through the gateway. It runs apart from the launcher, so that
stopping carepair stops the load at once.
"""

from __future__ import annotations

import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from carepair.demo.county import county
from carepair.launcher.secrets import OPERATOR, embedded_secrets
from shared.clock import Clock
from shared.settings import programme_clock

DEMO_NAMESPACE = uuid.UUID("5b0c6a57-8f7e-4c52-9d77-0d6f3b1c2a10")


def _checked(response: httpx.Response, *ok: int) -> httpx.Response:
    if response.status_code not in ok:
        raise RuntimeError(
            f"demo load failed: {response.request.url} {response.status_code} {response.text[:300]}"
        )
    return response


def load_demo(data_dir: Path, gateway: str, pairing: str, token: str, clock: Clock) -> None:
    """Loads the demo county once; a marker file stops a second load."""
    marker = data_dir / "demo-loaded"
    if marker.exists():
        print("demo: already loaded")
        return
    demo = county()
    headers = {"Authorization": f"Bearer {token}", "Carepair-Actor": "operator:demo"}
    with httpx.Client(base_url=pairing, timeout=30, headers=headers) as service:
        for body in demo.subjects:
            _checked(service.post("/subjects", json=body), 201, 422)
        last = ""
        for body in demo.cadres:
            last = _checked(service.post("/cadres", json=body), 201, 422).headers.get(
                "Carepair-Position", last
            )
        results: list[dict[str, Any]] = []
        for township in demo.townships:
            # One township at a time, each plan made after the previous one was accepted: a cadre
            # linked with villages of two townships must not be offered twice.
            plan = _checked(
                service.post(
                    "/suggestions",
                    json={"township_code": township},
                    headers={"Carepair-Await": last} if last else {},
                ),
                200,
            ).json()
            if not plan["placed"]:
                continue
            accepted = _checked(
                service.post(
                    "/suggestions/accept",
                    json={
                        "pairs": [
                            {"subject_id": p["subject_id"], "cadre_id": p["cadre_id"]} for p in plan["placed"]
                        ]
                    },
                ),
                200,
            )
            last = accepted.headers.get("Carepair-Position", last)
            results += accepted.json()["results"]
        pairings = []
        for result in results:
            if result["accepted"]:
                history = _checked(service.get(f"/subjects/{result['subject_id']}/responsible"), 200).json()
                current = history["history"][-1]
                pairings.append((current["pairing_id"], result["subject_id"], result["cadre_id"]))
    visits = _log_visits(gateway, pairings, clock.today())
    marker.write_text("ok\n", encoding="utf-8")
    print(
        f"demo: {demo.name} with {len(demo.subjects)} cared-for people, {len(demo.cadres)} cadres, "
        f"{len(pairings)} pairings and {visits} contacts and visits"
    )


def _log_visits(gateway: str, pairings: list[tuple[str, str, str]], today: date) -> int:
    demo = county()
    count = 0
    with httpx.Client(base_url=gateway, timeout=10) as client:
        for index, (pairing_id, subject_id, cadre_id) in enumerate(pairings):
            for n, mode in enumerate(demo.contact_modes[: 2 + index % 5]):
                visit_id = uuid.uuid5(DEMO_NAMESPACE, f"{pairing_id}-{n}")
                _checked(
                    client.post(
                        "/api/visits",
                        json={
                            "visit_id": str(visit_id),
                            "pairing_id": pairing_id,
                            "subject_id": subject_id,
                            "cadre_id": cadre_id,
                            "mode": mode,
                            "happened_on": (today - timedelta(days=9 * (n + 1))).isoformat(),
                            "record": demo.record_of(mode),
                        },
                    ),
                    201,
                    409,
                )
                count += 1
    return count


def command(data_dir: Path, gateway: str, pairing: str) -> list[str]:
    """How the launcher runs this module; the token is read here, never passed on a command line."""
    return [sys.executable, "-m", __name__, str(data_dir), gateway, pairing]


def main(argv: list[str]) -> int:
    data_dir, gateway, pairing = Path(argv[0]), argv[1], argv[2]
    # The launcher checked CAREPAIR_TIMEZONE before it started anything; this reads the same.
    load_demo(data_dir, gateway, pairing, embedded_secrets(data_dir).tokens[OPERATOR], programme_clock())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
