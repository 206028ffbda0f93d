"""The shape of every background loop in a service process: relays, consumers, watchers."""

from __future__ import annotations

import asyncio
import contextlib


class Worker:
    """Runs in `run()` until `stop()`; its waits go through `_sleep`, which a stop cuts short.

    `ServiceRuntime.spawn` starts a worker's `run()` and, at shutdown, calls `stop()` and gives
    it a grace period to finish its current step.
    """

    def __init__(self) -> None:
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Asks the loop to finish its current step and return."""
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        """Waits `seconds`, or less if the worker is told to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
