"""The gateway's client for the services behind it, with its service credential."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

FORWARDED_HEADERS = ("carepair-await", "x-correlation-id", "carepair-actor")
RETURNED_HEADERS = ("carepair-position", "retry-after", "x-correlation-id")


class Upstreams:
    """One pooled HTTP client per service."""

    def __init__(self, urls: dict[str, str], token: str, timeout: float) -> None:
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
            )
            for name, url in urls.items()
        }

    def client(self, service: str) -> httpx.AsyncClient:
        return self._clients[service]

    async def readiness(self) -> dict[str, Any]:
        """Each service's `/readyz`, asked in parallel; an unreachable one says so."""

        async def ask(name: str, client: httpx.AsyncClient) -> tuple[str, Any]:
            try:
                response = await client.get("/readyz", timeout=3.0)
                return name, response.json()
            except (httpx.HTTPError, ValueError) as exc:
                return name, {"ready": False, "error": f"unreachable: {type(exc).__name__}"}

        answers = await asyncio.gather(*(ask(n, c) for n, c in self._clients.items()))
        return dict(answers)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
