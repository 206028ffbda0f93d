"""What a service declares about itself; the runtime reads it and runs everything it names.

A service's `bootstrap.py` holds its one `ServiceSpec` and the `create_app` built from it:

    SPEC = ServiceSpec(
        name="visits",
        title="carepair visits",
        settings=VisitsSettings,
        dependencies=ServiceBasics.of,
        routers=(api.router,),
    )

    def create_app(settings: VisitsSettings | None = None, clock: Clock | None = None) -> FastAPI:
        return runtime_app(SPEC, settings, clock)

- **Dependencies.** `dependencies(runtime)` builds, once the runtime has started (store, database,
  opener, clock), everything the service's handlers and routes use: its repositories, ports and
  outbound clients, as one object of the service's own type `D`. Routes reach it typed with
  `Depends(deps_of(D))` (`shared/runtime/web.py`); `runtime.deps` is the same object. A service
  with nothing of its own uses `ServiceBasics` (the store, the database and the clock).
- **Fakes.** A service that calls out (an SMS gateway, another system) also declares `fakes`,
  which builds the same `D` with in-memory stand-ins for those clients; a test asks for them
  with `runtime_app(SPEC, settings, clock, fakes=True)`. Its store and database stay real.
- **Projections** are followed from their producers (a JetStream consumer per other producer,
  a local consumer for the service's own events); **reactors** follow the service's own events
  and act on them; **schedules** run jobs at a time of day in the programme's zone, or every
  so often. Each one runs as a `Worker` and shows in `/readyz` under its label.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from shared.clock import Clock
from shared.messaging.consumer import durable_name
from shared.messaging.permissions import Follow
from shared.messaging.projection import Projection
from shared.messaging.reactor import Reaction
from shared.schedule import DailyJob, PeriodicJob
from shared.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter, Request
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.responses import Response

    from shared.eventstore import EventStore
    from shared.eventstore.opener import EventOpener

D = TypeVar("D")


class Started(Protocol):
    """What a started service process offers the function that builds its dependencies.

    `ServiceRuntime` is one; the spec names only what a builder may use, so that it does not
    depend on the runtime that runs it.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> EventStore: ...

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def opener(self) -> EventOpener: ...

ExceptionHandler = Callable[["Request", Exception], Awaitable["Response"]]


@dataclass(frozen=True)
class ReactorSpec(Generic[D]):
    """A reactor of the service's own events: its checkpoint's name and its reactions by event type."""

    name: str  # the checkpoint's name in the service's database, e.g. "pairing-reassignment"
    label: str  # its key in `/readyz`, e.g. "reassignment"
    reactions: Callable[[D], Mapping[str, Reaction]]


@dataclass(frozen=True)
class Schedule(Generic[D]):
    """A job that runs at start and then daily at a local time, or every `period`.

    Build one with `Schedule.daily` or `Schedule.every`. `work(deps)` returns how many things
    it did (logged when not zero); it must be idempotent, since it also runs at every start.
    """

    name: str  # its key in `/readyz` and its logs, e.g. "adult-watch"
    work: Callable[[D], Awaitable[int]]
    at: Callable[[Settings], time] | None = None
    period: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.at is None) == (self.period is None):
            raise ValueError(f"schedule {self.name!r} needs either a time of day or a period, not both")

    @classmethod
    def daily(
        cls, name: str, work: Callable[[D], Awaitable[int]], at: Callable[[Any], time] | time
    ) -> Schedule[D]:
        """Daily at `at` in the programme's zone; `at` may be read from the service's settings."""
        when = at if callable(at) else _fixed(at)
        return cls(name, work, at=when)

    @classmethod
    def every(cls, name: str, work: Callable[[D], Awaitable[int]], period: timedelta) -> Schedule[D]:
        """At start, then every `period` on the process's clock."""
        return cls(name, work, period=period)

    def job(self, deps: D, clock: Clock, settings: Settings) -> DailyJob:
        """The worker that runs this schedule with `deps` on `clock` (the runtime spawns it)."""
        work = functools.partial(self.work, deps)
        if self.at is not None:
            return DailyJob(self.name, work, clock, self.at(settings))
        assert self.period is not None
        return PeriodicJob(self.name, work, clock, self.period)


def _fixed(at: time) -> Callable[[Settings], time]:
    return lambda _settings: at


@dataclass(frozen=True)
class ServiceSpec(Generic[D]):
    """Everything one service runs: its routes, its tables, what it follows and what it builds."""

    name: str
    dependencies: Callable[[Started], D]
    settings: Callable[[], Settings] = Settings  # the service's settings class, read from the environment
    title: str = ""
    routers: tuple[APIRouter, ...] = ()
    exception_handlers: tuple[tuple[type[Exception], ExceptionHandler], ...] = ()
    migrations: tuple[Path, ...] = ()
    projections: tuple[Projection, ...] = ()
    reactors: tuple[ReactorSpec[D], ...] = ()
    schedules: tuple[Schedule[D], ...] = ()
    # The dependencies with in-memory stand-ins for the outbound clients, for tests; None when the
    # service calls nothing outside, and `dependencies` serve tests as they are.
    fakes: Callable[[Started], D] | None = None

    def follows(self) -> tuple[Follow, ...]:
        """The JetStream consumers it runs: one per read model and producer other than itself."""
        return tuple(
            Follow(durable_name(projection.name, producer), producer)
            for projection in self.projections
            for producer in projection.producers
            if producer != self.name
        )
