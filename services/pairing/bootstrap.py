"""Wires the pairing service: its tables, its read models, its repository and its reactions."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.pairing.adapters.registries import Fingerprints, SqlRegistries
from services.pairing.adapters.repository import PairingRepository
from services.pairing.handlers import PairingDeps
from services.pairing.projections import PAIRING_INDEX
from services.pairing.reactions import reactions
from services.pairing.scheduled import ScheduledChanges
from services.pairing.settings import PairingSettings
from services.pairing.watchers import AdultWatcher
from shared.clock import Clock
from shared.messaging.reactor import Reactor
from shared.runtime import ServiceRuntime, ServiceSpec


def fingerprint_secret(master_key_b64: str) -> bytes:
    """A key for keyed hashes of ID numbers, derived from (never equal to) the master key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"carepair pairing fingerprints"
    ).derive(base64.b64decode(master_key_b64))


async def on_start(runtime: ServiceRuntime) -> None:
    secret = fingerprint_secret(runtime.settings.master_key.get_secret_value())
    registries = SqlRegistries(runtime.engine, Fingerprints(secret))
    repo = PairingRepository(runtime.store, runtime.opener, registries)
    deps = PairingDeps(repo=repo, engine=runtime.engine, clock=runtime.clock)
    runtime.components["deps"] = deps
    reactor = Reactor(
        "pairing-reassignment", "pairing", runtime.engine, runtime.store, runtime.opener, reactions(deps)
    )
    runtime.spawn(reactor, "reassignment")
    settings = runtime.settings
    assert isinstance(settings, PairingSettings), "the pairing service runs with PairingSettings"
    runtime.spawn(AdultWatcher(deps, settings.daily_at()), "adult-watch")
    runtime.spawn(ScheduledChanges(deps, settings.daily_at()), "scheduled-changes")


SPEC = ServiceSpec(
    name="pairing",
    migrations=(Path(__file__).parent / "migrations" / "versions",),
    projections=(PAIRING_INDEX,),
    on_start=on_start,
)


def build_runtime(settings: PairingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or PairingSettings(), clock=clock)
