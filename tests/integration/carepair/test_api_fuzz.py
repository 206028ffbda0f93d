"""A bounded fuzz of every process's OpenAPI: whatever a client sends, no answer is a 5xx.

Each service runs for real (uvicorn on a free port, its database, NATS) and schemathesis sends
requests generated from the service's own OpenAPI document, with a valid service credential so
that they reach the routes, and some without. A 5xx is a defect: bad input of every kind must
get a 4xx in the one error shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from shared.roster import ROSTER
from tests.support.apps import app_factory
from tests.support.service_app import auth_headers, serving, settings_values

pytestmark = [pytest.mark.nats, pytest.mark.fuzz]

EXAMPLES = 20  # per operation and mode: bounded, so that the whole fuzz takes about a minute
SERVICES = [m.name for m in ROSTER]
HEALTH = {"/readyz", "/healthz"}


@pytest.mark.parametrize("service", SERVICES)
def test_no_request_generated_from_the_openapi_gets_a_5xx(
    service: str,
    tmp_path: Path,
    nats_url: str,
    stream_name: str,
    nats_cleanup: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in settings_values(tmp_path, nats_url, stream_name).items():
        if value is not None:
            monkeypatch.setenv(f"CAREPAIR_{key.upper()}", str(value))
    if service == "gateway":
        # The gateway calls the others; with none running, it must still answer 4xx or 503.
        monkeypatch.setenv("CAREPAIR_UPSTREAM_TIMEOUT_SECONDS", "0.5")
    with serving(app_factory(service)()) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        failures: list[str] = []
        statuses: list[int] = []
        for result in schema.get_all_operations():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(result.ok(), mode, service, failures, statuses)
    assert len(statuses) >= EXAMPLES, f"only {len(statuses)} requests were sent"
    assert any(400 <= s < 500 for s in statuses), "no request was refused: the fuzz reached nothing"
    assert not failures, "\n".join(failures[:20])


def fuzz(
    operation: Any, mode: GenerationMode, service: str, failures: list[str], statuses: list[int]
) -> None:
    """Sends up to `EXAMPLES` generated requests to one operation; records every 5xx."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case: Any) -> None:
        response = case.call(headers={**auth_headers(service), "Carepair-Actor": "operator:fuzz"}, timeout=10)
        statuses.append(response.status_code)
        # 503 is the answer of a health check that finds something down, and the gateway's when
        # the service behind it is not running: both are meant, not failures.
        meant = response.status_code == 503 and (operation.path in HEALTH or service == "gateway")
        if response.status_code >= 500 and not meant:
            failures.append(
                f"{operation.method.upper()} {operation.path} -> {response.status_code}: "
                f"{response.text[:300]} (sent {case.body!r:.200} {case.query!r:.200})"
            )

    try:
        no_server_error()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # An operation without parameters or body has nothing to make invalid.
