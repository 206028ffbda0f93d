"""The shape of every background loop in a service process: relays, consumers, watchers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from shared.clock import Clock


class Worker:
    """Runs in `run()` until `stop()`; a stop cuts its waits (`_sleep`, `_sleep_until`) short.

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

    async def _sleep_until(self, clock: Clock, moment: datetime) -> None:
        """Waits until `clock` reaches `moment`, or less if the worker is told to stop meanwhile."""
        sleeper = asyncio.ensure_future(clock.sleep_until(moment))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((sleeper, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
