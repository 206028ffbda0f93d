"""A small demo county (和政县, 622925) loaded once, through the gateway like any client."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

DEMO_NAMESPACE = uuid.UUID("5b0c6a57-8f7e-4c52-9d77-0d6f3b1c2a10")
MODES = ["phone", "wechat", "home", "sms", "phone", "home"]


def load_demo(data_dir: Path, gateway: str) -> None:
    """Logs a year of contacts for three demo pairings; a marker file stops a second load."""
    marker = data_dir / "demo-loaded"
    if marker.exists():
        print("demo: already loaded")
        return
    today = date.today()
    count = 0
    with httpx.Client(base_url=gateway, timeout=10) as client:
        for pairing in range(3):
            pairing_id = uuid.uuid5(DEMO_NAMESPACE, f"pairing-{pairing}")
            for n, mode in enumerate(MODES[: 3 + pairing * 2]):
                visit_id = uuid.uuid5(DEMO_NAMESPACE, f"visit-{pairing}-{n}")
                response = client.post(
                    "/api/visits",
                    json={
                        "visit_id": str(visit_id),
                        "pairing_id": str(pairing_id),
                        "subject_id": f"demo-subject-{pairing}",
                        "cadre_id": f"demo-cadre-{pairing}",
                        "mode": mode,
                        "happened_on": (today - timedelta(days=10 * (n + 1))).isoformat(),
                        "record": "电话询问近况，了解生活和学习情况。"
                        if mode != "home"
                        else "入户走访，查看居住环境。",
                    },
                )
                if response.status_code not in (201, 409):
                    raise RuntimeError(f"demo load failed: {response.status_code} {response.text}")
                count += 1
    marker.write_text("ok\n", encoding="utf-8")
    print(f"demo: logged {count} contacts and visits for 3 pairings in 和政县")
