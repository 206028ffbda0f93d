"""Merges look-ups that concurrent callers make in the same turn of the event loop into one.

A batch of appends started together asks the key store for each person's key, each from its
own task. Answered one by one, that is a query (or three) per person; merged, it is one query
for all of them. The first caller of a turn yields once, so that the callers that are ready in
the same turn add their keys, and then one fetch runs for everyone, in a task of its own: a
caller that leaves (is cancelled) never leaves the others without an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[dict[K, V]]]


class Coalescer(Generic[K, V]):
    """`get(keys)` answers each caller's keys from one `fetch` per turn of the loop.

    `fetch` receives every key asked in the turn (each once, in the order first asked) and
    returns a value for each. When it raises, every caller of that turn gets the error.
    """

    def __init__(self, fetch: Fetch[K, V]) -> None:
        self._fetch = fetch
        self._waiting: list[tuple[list[K], asyncio.Future[dict[K, V]]]] = []
        self._gathering = False
        self._running: set[asyncio.Task[None]] = set()
        self.fetches = 0  # how many fetches ran: what merging saved is visible in tests and benches

    async def get(self, keys: Iterable[K]) -> dict[K, V]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        future: asyncio.Future[dict[K, V]] = asyncio.get_running_loop().create_future()
        self._waiting.append((wanted, future))
        if not self._gathering:
            self._gathering = True
            try:
                await asyncio.sleep(0)  # the callers ready in this turn join
            finally:
                self._gathering = False
                waiting, self._waiting = self._waiting, []
                task = asyncio.create_task(self._answer(waiting))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        return await future

    async def _answer(self, waiting: list[tuple[list[K], asyncio.Future[dict[K, V]]]]) -> None:
        everything = list(dict.fromkeys(key for keys, _ in waiting for key in keys))
        self.fetches += 1
        try:
            found = await self._fetch(everything)
        except BaseException as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for keys, future in waiting:
            if not future.done():
                future.set_result({key: found[key] for key in keys})
