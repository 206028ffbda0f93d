"""One pairing service's store, read model and reactor in-process on SQLite, driven step by step;
and the handlers' dependencies over each store with its registries (in memory, SQL)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from services.pairing.adapters.memory import MemoryRegistries
from services.pairing.adapters.registries import Fingerprints, SqlRegistries
from services.pairing.adapters.repository import PairingRepository
from services.pairing.handlers import PairingDeps
from services.pairing.projections import PAIRING_INDEX
from services.pairing.reactions import reactions
from shared.clock import ManualClock
from shared.contracts import CONTRACTS
from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS
from shared.eventstore.memory import MemoryEventStore
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging.projection import ProjectionRunner
from shared.messaging.reactor import Reactor
from shared.personal import MemoryKeyStore, PayloadSealer

PAIRING_MIGRATIONS = Path(__file__).parents[2] / "services" / "pairing" / "migrations" / "versions"
TODAY = date(2026, 11, 29)
FINGERPRINTS = Fingerprints(b"pairing-test-key")


@asynccontextmanager
async def memory_deps() -> AsyncIterator[PairingDeps]:
    """The handlers over the in-memory store and the registries beside it (no database)."""
    sealer = PayloadSealer(MemoryKeyStore())
    store = MemoryEventStore("pairing", sealer)
    repo = PairingRepository(store, EventOpener(CONTRACTS, sealer), MemoryRegistries(store, FINGERPRINTS))
    yield PairingDeps(repo=repo, engine=None, clock=ManualClock.on(TODAY))  # type: ignore[arg-type]


@asynccontextmanager
async def sql_deps(url: URL) -> AsyncIterator[PairingDeps]:
    """The handlers over a SQL store and its registry tables, on a fresh database at `url`."""
    migrate(url, [EVENTSTORE_MIGRATIONS, PAIRING_MIGRATIONS])
    engine = create_engine_for(url)
    sealer = PayloadSealer(MemoryKeyStore())
    store = SqlEventStore(engine, "pairing", sealer)
    await store.start()
    try:
        repo = PairingRepository(store, EventOpener(CONTRACTS, sealer), SqlRegistries(engine, FINGERPRINTS))
        yield PairingDeps(repo=repo, engine=engine, clock=ManualClock.on(TODAY))
    finally:
        await store.close()
        await engine.dispose()


class World:
    """One pairing service's store, projection and reactor on a fresh SQLite file."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        folder = Path(tempfile.mkdtemp(prefix="carepair-prop-"))
        url = make_url(f"sqlite:///{folder / 'pairing.sqlite'}")
        migrate(url, [EVENTSTORE_MIGRATIONS, PAIRING_MIGRATIONS])
        self.engine = create_engine_for(url)
        sealer = PayloadSealer(MemoryKeyStore())
        self.store = SqlEventStore(self.engine, "pairing", sealer)
        opener = EventOpener(CONTRACTS, sealer)
        repo = PairingRepository(
            self.store, opener, SqlRegistries(self.engine, Fingerprints(b"property-test-key"))
        )
        self.clock = ManualClock.on(TODAY)
        self.deps = PairingDeps(repo=repo, engine=self.engine, clock=self.clock)
        self.runner = ProjectionRunner(self.engine, PAIRING_INDEX, opener)
        self.reactor = Reactor("reassign", "pairing", self.engine, self.store, opener, reactions(self.deps))
        self.run(self.store.start())
        self.run(self.runner.start())
        self.run(self._reactor_start())

    async def _reactor_start(self) -> None:
        from shared.messaging import checkpoints

        await checkpoints.ensure_rows(self.engine, self.reactor.name, ["pairing"])

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def settle(self) -> None:
        """Applies the read model and the reactions as the background workers would."""
        for _ in range(5):
            self.run(
                self.runner.apply(
                    "pairing", self.run(self.store.read_after(self.runner.position("pairing"), 1000))
                )
            )
            if not self.run(self.reactor.step()):
                break
        self.run(
            self.runner.apply(
                "pairing", self.run(self.store.read_after(self.runner.position("pairing"), 1000))
            )
        )

    def close(self) -> None:
        self.run(self.store.close())
        self.run(self.engine.dispose())
        self.loop.close()
