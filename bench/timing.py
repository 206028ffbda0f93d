"""Timed windows of concurrent workers, and how their rates and latencies are summed up."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any


class Window:
    """Shared by a run's workers: they loop until `stopping` and record only while `measuring`."""

    def __init__(self) -> None:
        self.measuring = False
        self.stopping = False
        self.latencies: list[float] = []
        self.finished: list[float] = []
        self.started = 0.0
        self.elapsed = 0.0

    def record(self, began: float) -> None:
        """Counts one operation that began at `began` (perf_counter) and has just finished."""
        if self.measuring:
            now = time.perf_counter()
            self.latencies.append(now - began)
            self.finished.append(now)

    def timeline(self) -> list[int]:
        """Operations finished in each whole second of the window: shows drift over a run."""
        counts = [0] * max(round(self.elapsed), 1)
        for moment in self.finished:
            counts[min(int(moment - self.started), len(counts) - 1)] += 1
        return counts

    def open(self) -> None:
        self.started = time.perf_counter()
        self.measuring = True

    def close(self) -> None:
        self.measuring = False
        self.elapsed = time.perf_counter() - self.started
        self.stopping = True


async def run_tasks(
    worker: Callable[[int, Window], Coroutine[Any, Any, None]],
    count: int,
    seconds: float,
    warmup: float,
) -> Window:
    """Runs `count` asyncio workers; measures `seconds` after `warmup`."""
    window = Window()
    tasks = [asyncio.create_task(worker(i, window)) for i in range(count)]
    await asyncio.sleep(warmup)
    window.open()
    await asyncio.sleep(seconds)
    window.close()
    await asyncio.gather(*tasks)
    return window


def run_threads(
    worker: Callable[[int, Window], None], count: int, seconds: float, warmup: float
) -> Window:
    """Runs `count` worker threads; measures `seconds` after `warmup`."""
    window = Window()
    failures: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            worker(index, window)
        except BaseException as exc:
            failures.append(exc)
            window.stopping = True

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    window.open()
    time.sleep(seconds)
    window.close()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return window


@dataclass(frozen=True)
class Measured:
    """How many operations completed in how long, and per-operation latency percentiles (ms)."""

    operations: int
    seconds: float
    per_second: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    extra: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def line(self) -> str:
        text = f"{self.operations:>7} in {self.seconds:5.1f}s = {self.per_second:>8.0f}/s"
        if self.p50_ms is not None:
            text += f"  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
        return text


def measured(
    operations: int,
    seconds: float,
    latencies: Sequence[float] = (),
    extra: dict[str, Any] | None = None,
) -> Measured:
    """Sums up a run; `latencies` are in seconds."""
    p50 = p99 = top = None
    if latencies:
        p50, p99, top = percentile(latencies, 50), percentile(latencies, 99), max(latencies)
        p50, p99, top = round(p50 * 1000, 3), round(p99 * 1000, 3), round(top * 1000, 3)
    return Measured(
        operations, round(seconds, 3), round(operations / seconds, 1), p50, p99, top, extra
    )


def summed(window: Window, extra: dict[str, Any] | None = None) -> Measured:
    extra = {**(extra or {}), "per_second_timeline": window.timeline()}
    return measured(len(window.latencies), window.elapsed, window.latencies, extra)


def percentile(values: Sequence[float], pct: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]
