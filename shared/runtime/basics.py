"""The dependencies of a service that needs nothing of its own yet: its store, database and clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.eventstore import EventStore

if TYPE_CHECKING:
    from shared.runtime.spec import Started


@dataclass(frozen=True)
class ServiceBasics:
    """What every service process has: its event store, its database (read models) and its clock."""

    store: EventStore
    engine: AsyncEngine
    clock: Clock

    @classmethod
    def of(cls, runtime: Started) -> ServiceBasics:
        """Built from a started runtime (`ServiceSpec(dependencies=ServiceBasics.of)`)."""
        return cls(store=runtime.store, engine=runtime.engine, clock=runtime.clock)

    def today(self) -> date:
        """The programme's business date, from the process's one clock."""
        return self.clock.today()
