"""What the gateway does: aggregate health, and pass requests to the service that owns them."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request, Response

from services.gateway.adapters.upstream import FORWARDED_HEADERS, RETURNED_HEADERS, Upstreams
from shared.web.errors import ApiError


async def system_health(upstreams: Upstreams) -> tuple[bool, dict[str, Any]]:
    services = await upstreams.readiness()
    healthy = all(bool(answer.get("ready")) for answer in services.values())
    return healthy, {"status": "ok" if healthy else "degraded", "services": services}


async def forward(upstreams: Upstreams, service: str, path: str, request: Request) -> Response:
    """Sends the request on to `service` and returns its answer, error shape included."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
    headers.setdefault("carepair-actor", "gateway:anonymous")
    # One correlation id end to end: the one the gateway's middleware took or made.
    headers["x-correlation-id"] = getattr(
        request.state, "correlation_id", headers.get("x-correlation-id", "")
    )
    try:
        upstream = await upstreams.client(service).request(
            request.method,
            path,
            params=request.query_params,
            content=await request.body(),
            headers={**headers, "content-type": request.headers.get("content-type", "application/json")},
        )
    except httpx.HTTPError as exc:
        raise ApiError(
            503,
            "service_unavailable",
            f"the {service} service did not answer: retry shortly",
            headers={"Retry-After": "2"},
        ) from exc
    returned = {k: v for k, v in upstream.headers.items() if k.lower() in RETURNED_HEADERS}
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        headers=returned,
        media_type=upstream.headers.get("content-type"),
    )
