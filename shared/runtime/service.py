"""Runs one service process as its spec declares: database, key store, event store, relay,
projections and their consumers, reactors, schedules, and the service's own dependencies."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Generic

import structlog

from shared.clock import Clock
from shared.contracts import CONTRACTS
from shared.contracts.base import ContractRegistry
from shared.database import create_engine_for, migrate, ping
from shared.eventstore import EVENTSTORE_MIGRATIONS
from shared.eventstore.opener import EventOpener
from shared.eventstore.ports import CommitSignal
from shared.eventstore.sql import SqlEventStore
from shared.messaging.connection import NatsConnection, tls_context
from shared.messaging.consumer import JetStreamConsumer, LocalConsumer
from shared.messaging.feed import FeedClient
from shared.messaging.lease import relay_lease
from shared.messaging.permissions import inbox_prefix
from shared.messaging.projection import Projection, ProjectionRunner
from shared.messaging.reactor import Reactor
from shared.messaging.relay import Relay, SqlRelayProgress
from shared.messaging.signing import Verifier, signing_keys
from shared.messaging.stream import StreamSettings
from shared.personal import (
    KEYSTORE_MIGRATIONS,
    CachingKeyStore,
    MasterKey,
    PayloadSealer,
    SqlKeyStore,
)
from shared.runtime.memory import freeze_startup_objects
from shared.runtime.spec import D, ReactorSpec, ServiceSpec
from shared.settings import Settings
from shared.worker import Runnable

log = structlog.get_logger(__name__)


class ServiceRuntime(Generic[D]):
    """Starts and stops everything one service process runs besides its routes, as its spec says."""

    def __init__(
        self,
        spec: ServiceSpec[D],
        settings: Settings,
        registry: ContractRegistry = CONTRACTS,
        clock: Clock | None = None,
        *,
        fakes: bool = False,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.registry = registry
        # The process's one clock: every "today" of the service comes from it.
        self.clock: Clock = clock or settings.clock()
        # Per producer, the signal of every read model that follows it: an awaited read waits for all.
        self.read_signals: dict[str, list[CommitSignal]] = {}
        self.runners: dict[str, ProjectionRunner] = {}
        self._fakes = fakes
        self._deps: D | None = None
        self._workers: list[Runnable] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._feeds: list[FeedClient] = []

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def deps(self) -> D:
        """The service's dependencies, built once at start by its spec (`ServiceSpec.dependencies`)."""
        if self._deps is None:
            raise RuntimeError(f"the {self.name} service has not started: its dependencies are not built yet")
        return self._deps

    def stream_settings(self) -> StreamSettings:
        s = self.settings
        return StreamSettings(s.stream_name, s.subject_prefix, s.stream_replicas)

    async def start(self) -> None:
        s = self.settings
        url = s.database_for(self.name)
        keys_url = s.keystore_database()
        await asyncio.to_thread(migrate, url, [EVENTSTORE_MIGRATIONS, *self.spec.migrations])
        await asyncio.to_thread(migrate, keys_url, [KEYSTORE_MIGRATIONS])
        self.engine = create_engine_for(url)
        self.keys_engine = create_engine_for(keys_url, pool_size=5)
        master = MasterKey.from_base64(s.master_key_id, s.master_key.get_secret_value())
        self.keystore = CachingKeyStore(
            SqlKeyStore(self.keys_engine, master, s.cipher), ttl_seconds=s.key_cache_seconds
        )
        self.sealer = PayloadSealer(self.keystore, s.cipher)
        self.store = SqlEventStore(self.engine, self.name, self.sealer, max_event_bytes=s.max_event_bytes)
        await self.store.start()
        self.opener = EventOpener(self.registry, self.sealer)
        self.nats = NatsConnection(
            s.nats_url,
            f"carepair-{self.name}",
            user=s.nats_user,
            password=s.nats_password.get_secret_value() if s.nats_password else None,
            tls=tls_context(s.nats_tls_ca, s.nats_tls_cert, s.nats_tls_key),
            inbox_prefix=inbox_prefix(self.name),
        )
        self.relay = Relay(
            self.store,
            SqlRelayProgress(self.engine),
            self.nats,
            self.stream_settings(),
            poll_interval=s.relay_poll_seconds,
            lease=relay_lease(self.engine),
            signing_key=s.signing_key.get_secret_value().encode(),
        )
        self.verifier = self._verifier()
        self.spawn(self.relay, "relay")
        for projection in self.spec.projections:
            await self._start_projection(projection)
        build = self.spec.fakes if self._fakes and self.spec.fakes is not None else self.spec.dependencies
        self._deps = build(self)
        for reactor in self.spec.reactors:
            self.spawn(self._reactor(reactor, self._deps), reactor.label)
        for schedule in self.spec.schedules:
            self.spawn(schedule.job(self._deps, self.clock, self.settings), schedule.name)
        freeze_startup_objects()
        log.info("service.started", database=url.get_backend_name(), nats=s.nats_url)

    def _verifier(self) -> Verifier:
        """The keys of the producers this service consumes; a missing one stops the start."""
        verifier = Verifier(signing_keys(self.settings.producer_signing_keys.get_secret_value()))
        missing = sorted({f.producer for f in self.spec.follows()} - verifier.producers())
        if missing:
            raise ValueError(
                f"CAREPAIR_PRODUCER_SIGNING_KEYS has no key of {', '.join(missing)}, whose events "
                f"{self.name} consumes: add producer:key with that producer's CAREPAIR_SIGNING_KEY"
            )
        return verifier

    async def _start_projection(self, projection: Projection) -> None:
        runner = ProjectionRunner(self.engine, projection, self.opener)
        await runner.start()
        self.runners[projection.name] = runner
        for producer, signal in runner.signals.items():
            self.read_signals.setdefault(producer, []).append(signal)
        remote = [p for p in projection.producers if p != self.name]
        if self.name in projection.producers:
            self.spawn(LocalConsumer(runner, self.store, self.name), f"{projection.name}-local")
        if remote:
            token = self.settings.service_token.get_secret_value()
            feeds = {p: FeedClient(self.settings.url_of(p), token) for p in remote}
            self._feeds.extend(feeds.values())
            consumer = JetStreamConsumer(
                runner,
                self.nats,
                self.stream_settings(),
                feeds,
                producers=tuple(remote),
                verifier=self.verifier,
            )
            self.spawn(consumer, f"{projection.name}-jetstream")

    def _reactor(self, spec: ReactorSpec[D], deps: D) -> Reactor:
        return Reactor(spec.name, self.name, self.engine, self.store, self.opener, spec.reactions(deps))

    def forged_messages(self) -> int:
        """Messages its consumers refused for a missing or wrong signature, since it started."""
        return sum(sum(getattr(w, "forged", {}).values()) for w in self._workers)

    def spawn(self, worker: Runnable, label: str) -> None:
        """Runs a worker until the service stops; `/readyz` shows its health under `label`."""
        self._workers.append(worker)
        self._tasks.append(asyncio.create_task(worker.run(), name=f"{self.name}-{label}"))

    async def refresh_read_positions(self) -> None:
        """Re-reads every read model's checkpoints (another process may have moved them)."""
        for runner in self.runners.values():
            await runner.refresh()

    async def stop(self, grace: float = 5.0) -> None:
        """Lets relay and consumers finish their current batch, then closes everything."""
        for worker in self._workers:
            worker.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.store.close()
        await self.nats.drain()
        for feed in self._feeds:
            await feed.close()
        await self.engine.dispose()
        await self.keys_engine.dispose()
        log.info("service.stopped")

    async def readiness(self) -> dict[str, Any]:
        """What `/readyz` reports: each dependency and worker, and whether all are fine."""
        checks: dict[str, Any] = {}
        try:
            await ping(self.engine)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["database"] = f"down: {type(exc).__name__}"
        checks["nats"] = "ok" if self.nats.connected else "down"
        checks["relay"] = "ok" if self.relay.healthy else "retrying"
        if self.relay.standby:
            checks["relay_role"] = "standby"  # another process of this service relays
        if self.relay.skipped:
            # Loud, but not unready: consumers take these events from the feed.
            checks["relay_skipped"] = (
                f"{len(self.relay.skipped)} event(s) too large for NATS, from the feed only: "
                f"positions {self.relay.skipped[:10]}"
            )
        for worker, task in zip(self._workers, self._tasks, strict=True):
            health = getattr(worker, "healthy", None)
            if isinstance(health, dict):
                for producer, ok in health.items():
                    checks[f"consumer:{producer}"] = "ok" if ok else "retrying"
                for producer, count in getattr(worker, "forged", {}).items():
                    # Loud, but not unready: nothing forged was applied, the feed stood in.
                    checks[f"forged:{producer}"] = (
                        f"{count} message(s) on {producer}'s subjects failed the signature check; "
                        "not applied, read from the feed instead"
                    )
            elif worker is not self.relay and health is not None:
                checks[task.get_name().removeprefix(f"{self.name}-")] = "ok" if health else "retrying"
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                checks[task.get_name()] = f"crashed: {task.exception()!r}"
        checks["ready"] = all(
            v == "ok"
            for k, v in checks.items()
            if k not in ("relay_role", "relay_skipped") and not k.startswith("forged:")
        )
        return checks
