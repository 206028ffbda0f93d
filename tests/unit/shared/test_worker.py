"""The one loop of every background job: steps, idles, backs off on failure, stops."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
import structlog
from pydantic import BaseModel, ValidationError
from structlog.testing import capture_logs

import shared.worker
from shared.worker import Worker, describe

ID_NUMBER = "622925200803107715"  # stands for any person's data an error might carry


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What the workers log. A logger already used under the JSON set-up keeps it: use a fresh one."""
    with capture_logs() as captured:
        monkeypatch.setattr(shared.worker, "log", structlog.get_logger("test"))
        yield captured


class Scripted(Worker):
    """Fails the first `failing` steps, then succeeds; records every backoff instead of sleeping."""

    retry_event = "scripted.retry"

    def __init__(self, failing: int, *, max_backoff: float = 10.0) -> None:
        super().__init__(max_backoff=max_backoff)
        self.failing = failing
        self.steps = 0
        self.delays: list[float] = []
        self.health_while_waiting: list[bool] = []
        self.finished = False

    async def step(self) -> bool:
        self.steps += 1
        if self.steps <= self.failing:
            raise ConnectionRefusedError(f"connect to 127.0.0.1:5432 refused, step {self.steps}")
        self.stop()  # one success is all this worker has to do
        return True

    async def wait_after_failure(self, delay: float) -> None:
        self.delays.append(delay)
        self.health_while_waiting.append(self.healthy)

    async def finish(self) -> None:
        self.finished = True

    def log_fields(self) -> dict[str, object]:
        return {"worker": "scripted"}


async def test_failures_back_off_exponentially_with_jitter_up_to_the_cap_then_health_returns(
    logs: list[dict[str, Any]],
) -> None:
    worker = Scripted(failing=9, max_backoff=10.0)
    await asyncio.wait_for(worker.run(), 5)
    # 0.2 s doubling: 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, then held at the 10 s cap.
    nominal = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0]
    assert len(worker.delays) == len(nominal)
    for delay, backoff in zip(worker.delays, nominal, strict=True):
        assert backoff / 2 <= delay <= backoff
    assert worker.health_while_waiting == [False] * 9  # unhealthy while it retries
    assert worker.healthy and worker.failures == 0 and worker.finished
    retries = [entry for entry in logs if entry["event"] == "scripted.retry"]
    assert len(retries) == 9 and retries[0]["worker"] == "scripted"
    assert retries[0]["error"] == "ConnectionRefusedError: connect to 127.0.0.1:5432 refused, step 1"


async def test_jitter_spreads_the_retries_of_many_workers() -> None:
    workers = [Scripted(failing=1) for _ in range(20)]
    await asyncio.gather(*(w.run() for w in workers))
    assert len({w.delays[0] for w in workers}) > 1


class Idle(Worker):
    """Never has work: the loop waits in `idle()` between steps."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.idling = asyncio.Event()

    async def step(self) -> bool:
        self.steps += 1
        return False

    async def idle(self) -> None:
        self.idling.set()
        await self._sleep(3600)


async def test_a_stop_cuts_the_idle_wait_short_and_the_loop_returns() -> None:
    worker = Idle()
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.idling.wait(), 1)
    worker.stop()
    await asyncio.wait_for(task, 1)
    assert worker.steps == 1 and worker.healthy


class Leaking(Worker):
    """Fails once with an error whose message holds a person's ID number."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.failed = False

    async def step(self) -> bool:
        if not self.failed:
            self.failed = True
            raise self.error
        self.stop()
        return True

    async def wait_after_failure(self, delay: float) -> None:
        return None


class Person(BaseModel):
    id_number: int


def validation_error() -> ValidationError:
    try:
        Person.model_validate({"id_number": f"x{ID_NUMBER}"})
    except ValidationError as exc:
        return exc
    raise AssertionError("the model accepted a bad value")


def database_error() -> Exception:
    return sqlalchemy.exc.IntegrityError(
        "INSERT INTO subject_fingerprints VALUES (?)", {"id_number": ID_NUMBER}, Exception(ID_NUMBER)
    )


@pytest.mark.parametrize(
    "error",
    [ValueError(f"bad ID number {ID_NUMBER}"), validation_error(), database_error()],
    ids=["value", "validation", "database"],
)
async def test_a_failed_step_logs_no_personal_data(error: Exception, logs: list[dict[str, Any]]) -> None:
    await asyncio.wait_for(Leaking(error).run(), 5)
    [entry] = [e for e in logs if e["event"] == "worker.retry"]
    assert ID_NUMBER not in repr(entry)
    assert entry["error"].startswith(type(error).__name__)


def test_describe_keeps_what_a_network_error_says_and_names_a_wrapped_driver_error() -> None:
    assert describe(TimeoutError("no answer in 5 s")) == "TimeoutError: no answer in 5 s"
    assert describe(database_error()) == "IntegrityError(builtins.Exception)"
    assert describe(ValueError(ID_NUMBER)) == "ValueError"
