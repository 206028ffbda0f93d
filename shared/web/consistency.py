"""Read-your-writes across services: position tokens and the bounded wait for them.

A write answers with `Carepair-Position: <service>:<position>`. A query may send
`Carepair-Await: pairing:41,visits:97` (or `?await=…`): the read model waits until it has
applied at least those positions from those producers, for a bounded time, and otherwise
answers 503 `not_yet_consistent` with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated

from fastapi import Depends, Query, Request

from shared.eventstore.ports import CommitSignal
from shared.web.errors import ApiError

POSITION_HEADER = "Carepair-Position"
REFRESH_EVERY = 0.1  # seconds between checkpoint reads while waiting
AWAIT_HEADER = "Carepair-Await"
_POSITION = re.compile(r"[0-9]{1,18}")  # ASCII digits only, and always below 2**63


def format_token(service: str, position: int) -> str:
    return f"{service}:{position}"


def parse_tokens(text: str) -> dict[str, int]:
    """Parses `svc:pos,svc:pos`; raises `ApiError` 400 naming the bad part."""
    wanted: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        service, sep, position = part.partition(":")
        if not sep or not service or not _POSITION.fullmatch(position):
            raise ApiError(
                400,
                "bad_position_token",
                f"{part!r} is not a position token: use <service>:<position>, e.g. visits:42",
            )
        wanted[service] = max(wanted.get(service, 0), int(position))
    return wanted


async def wait_for_positions(
    signals: Mapping[str, Sequence[CommitSignal]],
    wanted: Mapping[str, int],
    timeout: float,
    refresh: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Returns once every read model has applied every wanted position; 503 when the wait runs out.

    `signals` holds, per producer, the signal of each read model of this process that follows
    it: a query may read any of them, so all must have the position. `refresh` re-reads the
    checkpoints from the database: with several processes of one service, another one may have
    applied the position this one waits for.
    """
    unknown = [s for s in wanted if not signals.get(s)]
    if unknown:
        raise ApiError(
            400,
            "unknown_producer",
            f"this read model does not follow {', '.join(sorted(unknown))}; "
            f"it follows {', '.join(sorted(p for p in signals if signals[p])) or 'no one'}",
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for service, position in wanted.items():
        for signal in signals[service]:
            while signal.position < position:
                if refresh is not None:
                    await refresh()
                    if signal.position >= position:
                        break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ApiError(
                        503,
                        "not_yet_consistent",
                        f"{service} position {position} is not applied here yet "
                        f"(at {signal.position}): retry after a moment",
                        headers={"Retry-After": "1"},
                    )
                slice_ = remaining if refresh is None else min(remaining, REFRESH_EVERY)
                await signal.wait_beyond(signal.position, slice_)


async def await_consistency(
    request: Request, await_: Annotated[str | None, Query(alias="await")] = None
) -> None:
    """Route dependency: honours `Carepair-Await` / `?await=` against `app.state.read_signals`."""
    text = request.headers.get(AWAIT_HEADER) or await_
    if not text:
        return
    await wait_for_positions(
        request.app.state.read_signals,
        parse_tokens(text),
        request.app.state.consistency_wait,
        getattr(request.app.state, "refresh_positions", None),
    )


ReadYourWrites = Depends(await_consistency)
ConsistentRead = Annotated[None, ReadYourWrites]
