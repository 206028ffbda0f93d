"""The one loop of every background job in a service process: relays, consumers, reactors, schedules.

A worker implements `step()`, one round of its work, and the loop does the rest:

- it steps again at once while `step()` returns True (there was work, there may be more), and
  awaits `idle()` when it returns False (nothing to do now: wait for a commit, a poll, a day);
- an exception is logged (its type, and a message only for errors that carry no data: see
  `describe`), `healthy` turns false, and the loop waits a capped exponential backoff with
  jitter (`wait_after_failure`, which a worker may spend otherwise, for example following a feed)
  before it steps again; the first step that succeeds makes it healthy and resets the backoff;
- `stop()` cuts every wait short (`_sleep`, `_sleep_until`, `unless_stopped`) and lets the
  current step finish; `finish()` runs last.

`ServiceRuntime.spawn` starts a worker's `run()` and, at shutdown, calls `stop()` and gives it a
grace period to finish its current step.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import structlog

from shared.clock import Clock

log = structlog.get_logger(__name__)

T = TypeVar("T")

MIN_BACKOFF = 0.2
MAX_BACKOFF = 10.0

# Errors whose message names a host, a port or a timeout, never a value of the data.
_PLAIN_MESSAGES: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncio.TimeoutError)
_PLAIN_MODULES = ("nats.", "shared.messaging.feed")


def describe(exc: BaseException) -> str:
    """An exception as a log line may show it: its type, and its message only when that holds no data.

    A database driver's error wrapped by SQLAlchemy carries the statement and its parameters,
    and a validation error the value it refused; either may be a person's ID number. So the
    message is kept only for network and timeout errors and the messaging layer's own, and a
    wrapped driver error is shown by the driver's type alone.
    """
    original = getattr(exc, "orig", None)
    if isinstance(original, BaseException) and hasattr(exc, "statement"):
        return f"{type(exc).__name__}({type(original).__module__}.{type(original).__name__})"
    module = type(exc).__module__
    if isinstance(exc, _PLAIN_MESSAGES) or module.startswith(_PLAIN_MODULES):
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {first_line[:200]}" if first_line else type(exc).__name__
    return type(exc).__name__


class Runnable(Protocol):
    """What a service process runs in the background: a `Worker`, or a group of them."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class Worker:
    """One background job: `run()` steps it until `stop()`, retrying failures with backoff."""

    #: The log event of a failed step, e.g. `relay.retry`; the worker's `log_fields()` go with it.
    retry_event = "worker.retry"

    def __init__(self, *, min_backoff: float = MIN_BACKOFF, max_backoff: float = MAX_BACKOFF) -> None:
        self._stopping = asyncio.Event()
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self.healthy = False  # false until a step succeeds, and while a failed one is retried
        self.failures = 0  # failed steps in a row

    # --- what a worker implements -------------------------------------------------------

    async def step(self) -> bool:
        """One round of work; True to step again at once, False to wait `idle()` first."""
        raise NotImplementedError

    async def idle(self) -> None:
        """Waits before the next step when the last one found nothing to do (default: 1 s)."""
        await self._sleep(1.0)

    async def wait_after_failure(self, delay: float) -> None:
        """Spends the backoff after a failed step (default: sleeps `delay` seconds)."""
        await self._sleep(delay)

    async def after_failure(self, exc: Exception) -> None:
        """Drops whatever the failed step left half done (a subscription, a lease); default: nothing."""

    async def finish(self) -> None:
        """Runs once when the loop ends, stopped or cancelled: flush, release, unsubscribe."""

    def log_fields(self) -> dict[str, Any]:
        """What identifies this worker in its log lines (never personal data)."""
        return {}

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Steps until `stop()`; a failed step is logged and retried after a backoff."""
        backoff = self._min_backoff
        try:
            while not self._stopping.is_set():
                try:
                    more = await self.step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a database, NATS or a peer is down: retry
                    self.healthy = False
                    self.failures += 1
                    delay = self.backoff_delay(backoff)
                    fields = self.log_fields()
                    log.warning(self.retry_event, error=describe(exc), backoff=round(delay, 3), **fields)
                    await self.after_failure(exc)
                    if not self._stopping.is_set():
                        await self.wait_after_failure(delay)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                self.healthy = True
                self.failures = 0
                backoff = self._min_backoff
                if not more and not self._stopping.is_set():
                    await self.idle()
        finally:
            await self.finish()

    def backoff_delay(self, backoff: float) -> float:
        """`backoff` with jitter (between half and all of it), so that retries of many do not align."""
        return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not a secret

    def stop(self) -> None:
        """Asks the loop to finish its current step and return."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def unless_stopped(self, awaitable: Awaitable[T]) -> T | None:
        """The result of `awaitable`, or None (and it is cancelled) if the worker is told to stop first."""
        work = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((work, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not work.done():
                work.cancel()
            await asyncio.gather(work, stopper, return_exceptions=True)
        return None if work.cancelled() else work.result()

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
