"""Each producer's HTTP event feed: the way a consumer fills gaps and rebuilds without JetStream."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query

from shared.eventstore.envelope import StoredEvent
from shared.web.errors import ApiError
from shared.web.security import requires

FEED_PATH = "/feed/events"
MAX_PAGE = 1000
MAX_POSITION = 2**63 - 1  # positions are 64-bit signed integers in every store


class FeedUnavailable(RuntimeError):
    """The producer's feed did not answer usefully; the consumer retries later."""


def feed_router(read_after: Any, scope: str) -> APIRouter:
    """Serves `GET /feed/events?after=N&limit=M` from a store's `read_after`, to callers with `scope`."""
    router = APIRouter(tags=["feed"], dependencies=[requires(scope)])

    @router.get(FEED_PATH, summary="Committed events after a position (services only)")
    async def events_after(
        after: Annotated[int, Query(description="the last position the caller has")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    ) -> dict[str, Any]:
        if not 0 <= after <= MAX_POSITION:
            raise ApiError(400, "bad_position", f"after must be a position from 0 to {MAX_POSITION}")
        events = await read_after(after, limit)
        return {
            "events": [e.to_wire() for e in events],
            "next_after": events[-1].position if events else after,
        }

    return router


class FeedClient:
    """Reads a producer's feed with this service's credential."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
        )

    async def read_after(self, position: int, limit: int = 500) -> list[StoredEvent]:
        try:
            response = await self._client.get(FEED_PATH, params={"after": position, "limit": limit})
        except httpx.HTTPError as exc:
            raise FeedUnavailable(f"{self._client.base_url} did not answer: {exc}") from exc
        if response.status_code != 200:
            raise FeedUnavailable(
                f"{self._client.base_url}{FEED_PATH} answered {response.status_code}: {response.text[:200]}"
            )
        return [StoredEvent.from_wire(raw) for raw in response.json()["events"]]

    async def read_range(self, after: int, until: int) -> list[StoredEvent]:
        """Every event with after < position <= until, in order, page by page."""
        found: list[StoredEvent] = []
        while after < until:
            page = await self.read_after(after, min(MAX_PAGE, until - after))
            if not page:
                raise FeedUnavailable(f"the feed has nothing after {after}, expected up to {until}")
            found.extend(page)
            after = page[-1].position
        return [e for e in found if e.position <= until]

    async def close(self) -> None:
        await self._client.aclose()
