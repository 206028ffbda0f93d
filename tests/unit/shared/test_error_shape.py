"""Every failure answers in the one documented JSON shape."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from shared.contracts.base import UnknownEventType
from shared.eventstore import ConcurrencyConflict, StoreUnavailable
from shared.observability.metrics import ServiceMetrics
from shared.personal import PersonErased
from shared.runtime.app import correlation_and_timing
from shared.web.errors import install_error_handlers


class Body(BaseModel):
    phone: str
    age: int


def app_raising() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/conflict")
    async def conflict() -> None:
        raise ConcurrencyConflict("pairing-1", 3, 4)

    @app.get("/down")
    async def down() -> None:
        raise StoreUnavailable("connection refused")

    @app.get("/unknown")
    async def unknown() -> None:
        raise UnknownEventType("TeleportLogged")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail 13800138000")

    @app.get("/db-down")
    async def db_down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    @app.get("/refused")
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @app.get("/erased")
    async def erased() -> None:
        raise PersonErased("subject-7")

    app.middleware("http")(correlation_and_timing(ServiceMetrics("test")))

    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app_raising(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def shape(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    return body["error"]


async def test_invalid_fields_are_listed_with_what_is_wrong(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"phone": "1", "age": "old"})
    error = shape(response)
    assert response.status_code == 422 and error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == ["body.age"]


async def test_a_body_that_is_not_json_is_invalid_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 422 and shape(response)["code"] == "invalid_input"


async def test_a_version_conflict_is_409_with_both_versions(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict")
    error = shape(response)
    assert response.status_code == 409 and error["code"] == "version_conflict"
    assert error["details"] == [{"stream_id": "pairing-1", "expected": 3, "actual": 4}]


async def test_a_database_outage_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/down")
    assert response.status_code == 503 and shape(response)["code"] == "store_unavailable"
    assert response.headers["Retry-After"] == "2"


async def test_an_unknown_event_type_is_a_typed_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/unknown")
    assert response.status_code == 422 and shape(response)["code"] == "unknown_event_type"


async def test_an_unexpected_failure_hides_its_detail_and_names_its_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/boom", headers={"X-Correlation-Id": "corr-42"})
    error = shape(response)
    assert response.status_code == 500 and error["code"] == "internal_error"
    assert "13800138000" not in response.text
    assert error["correlation_id"] == "corr-42"


async def test_a_database_down_outside_the_append_is_503_not_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/db-down")
    assert response.status_code == 503 and shape(response)["code"] == "store_unavailable"


async def test_a_database_that_refuses_connections_is_503_not_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/refused")
    assert response.status_code == 503 and shape(response)["code"] == "store_unavailable"


async def test_writing_about_an_erased_person_is_a_409(client: httpx.AsyncClient) -> None:
    response = await client.get("/erased")
    assert response.status_code == 409 and shape(response)["code"] == "person_erased"


async def test_an_unknown_route_is_404_in_the_same_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404 and shape(response)["code"] == "not_found"
