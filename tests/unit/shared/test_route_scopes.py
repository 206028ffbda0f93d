"""Every service route names the scope it needs, and refuses each caller not granted it.

The routes and their scopes are read from each app's OpenAPI description, so a new route
without a scope fails here. The apps are built but not started: a scope is checked before a
route's handler runs.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from carepair.launcher.secrets import OPERATOR, TOKEN_HOLDERS
from shared.roster import SERVICE_NAMES as SERVICES
from shared.web.scopes import GRANTS, callers_of, feed_scope
from tests.support.apps import app_factory

CALLERS = (*TOKEN_HOLDERS, OPERATOR)
TOKENS = {caller: f"{caller}-tok-{os.urandom(8).hex()}" for caller in CALLERS}
PUBLIC = {"/healthz", "/readyz", "/metrics"}  # no credential: health and metrics only


def build_app(service: str) -> FastAPI:
    settings_module = importlib.import_module(f"services.{service}.settings")
    module_name = settings_module.__name__
    settings_class = next(
        c for c in vars(settings_module).values() if isinstance(c, type) and c.__module__ == module_name
    )
    settings = settings_class(
        data_dir=Path("/nonexistent"),
        master_key=base64.b64encode(os.urandom(32)).decode(),
        service_token=TOKENS[service],
        nats_user=service,
        signing_key=f"sign-{os.urandom(8).hex()}",
        producer_signing_keys=f"visits:sign-{os.urandom(8).hex()}",
        nats_password=f"nats-{os.urandom(8).hex()}",
        # Every caller is recognised here, so that only the scope can refuse it.
        peer_tokens=",".join(f"{caller}:{token}" for caller, token in TOKENS.items()),
    )
    app: FastAPI = app_factory(service)(settings)
    return app


APPS = {service: build_app(service) for service in SERVICES}


def route_scopes(operation: dict[str, Any]) -> set[str]:
    requirements = operation.get("security", [])
    return {scope for requirement in requirements for scope in requirement.get("serviceToken", [])}


ROUTES = [
    (service, method.upper(), path, route_scopes(operation))
    for service, app in APPS.items()
    for path, operations in app.openapi()["paths"].items()
    for method, operation in operations.items()
]
assert len(ROUTES) > 30, "the apps' routes were not found"


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "3f2b8c1e-7a4d-4e55-9b1a-0c6d2e8f9a01", path)


def call(service: str, method: str, path: str, caller: str | None) -> httpx.Response:
    """One request to the app, not started: a route that gets past its scope fails without a runtime."""
    headers = {"Authorization": f"Bearer {TOKENS[caller]}"} if caller else {}

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APPS[service], raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.request(method, concrete(path), headers=headers, json={})

    return asyncio.run(send())


def route_id(value: Any) -> str:
    return "" if isinstance(value, set) else str(value)


@pytest.mark.parametrize(("service", "method", "path", "scopes"), ROUTES, ids=route_id)
def test_every_route_names_one_scope_or_is_public(
    service: str, method: str, path: str, scopes: set[str]
) -> None:
    if path in PUBLIC:
        assert not scopes
    else:
        assert len(scopes) == 1, f"{method} {path} of {service} names no scope (shared/web/security.requires)"
        assert next(iter(scopes)).startswith(f"{service}."), scopes


@pytest.mark.parametrize(("service", "method", "path", "scopes"), ROUTES, ids=route_id)
def test_every_route_refuses_each_caller_without_its_scope(
    service: str, method: str, path: str, scopes: set[str]
) -> None:
    if path in PUBLIC:
        return
    (scope,) = scopes
    for caller in CALLERS:
        answer = call(service, method, path, caller)
        if scope in GRANTS.get(caller, frozenset()):
            assert answer.status_code not in (401, 403), (caller, answer.text)
        else:
            assert answer.status_code == 403, (caller, answer.status_code, answer.text)
            assert answer.json()["error"]["code"] == "forbidden_route"
            assert scope in answer.json()["error"]["message"]
    assert call(service, method, path, None).status_code == 401


def test_the_notify_token_does_not_open_a_contact_card() -> None:
    answer = call("pairing", "GET", "/subjects/s-1/card", "notify")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden_route"


def test_the_reporting_token_cannot_end_a_pairing() -> None:
    answer = call("pairing", "POST", "/subjects/s-1/pairing/end", "reporting")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden_route"


def test_the_gateway_token_reaches_only_what_the_gateway_serves() -> None:
    assert call("pairing", "GET", "/units/u-civil/pairings", "gateway").status_code == 403
    assert call("visits", "GET", "/feed/events", "gateway").status_code == 403


@pytest.mark.parametrize("service", SERVICES)
def test_each_consumer_holds_the_feeds_of_the_producers_it_follows(service: str) -> None:
    spec = importlib.import_module(f"services.{service}.bootstrap").SPEC
    for follow in spec.follows():
        assert feed_scope(follow.producer) in GRANTS.get(service, frozenset())
        assert service in callers_of(follow.producer)


def test_every_granted_scope_is_one_some_route_names() -> None:
    named = {scope for *_, scopes in ROUTES for scope in scopes}
    granted = {s for scopes in GRANTS.values() for s in scopes}
    assert granted <= named, f"granted but used by no route: {sorted(granted - named)}"
