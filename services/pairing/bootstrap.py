"""The pairing service's spec: its routes, tables, read model, reactor, timers and dependencies.

`pairing_deps` is the one place its dependencies are built; the runtime calls it once at start.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI

from services.pairing.adapters.registries import Fingerprints, SqlRegistries
from services.pairing.adapters.repository import PairingRepository
from services.pairing.entrypoints import api
from services.pairing.entrypoints.schedules import SCHEDULES
from services.pairing.handlers import PairingDeps
from services.pairing.projections import PAIRING_INDEX
from services.pairing.reactions import reactions
from services.pairing.settings import PairingSettings
from shared.clock import Clock
from shared.runtime import ReactorSpec, ServiceSpec, Started
from shared.runtime import create_app as runtime_app


def fingerprint_secret(master_key_b64: str) -> bytes:
    """A key for keyed hashes of ID numbers, derived from (never equal to) the master key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"carepair pairing fingerprints"
    ).derive(base64.b64decode(master_key_b64))


def pairing_deps(runtime: Started) -> PairingDeps:
    """What the handlers, reactions, timers and routes use, built once the runtime has started."""
    secret = fingerprint_secret(runtime.settings.master_key.get_secret_value())
    registries = SqlRegistries(runtime.engine, Fingerprints(secret))
    repo = PairingRepository(runtime.store, runtime.opener, registries)
    return PairingDeps(repo=repo, engine=runtime.engine, clock=runtime.clock)


SPEC = ServiceSpec[PairingDeps](
    name="pairing",
    title="carepair pairing",
    settings=PairingSettings,
    dependencies=pairing_deps,
    routers=api.ROUTERS,
    exception_handlers=api.EXCEPTION_HANDLERS,
    migrations=(Path(__file__).parent / "migrations" / "versions",),
    projections=(PAIRING_INDEX,),
    reactors=(ReactorSpec("pairing-reassignment", "reassignment", reactions),),
    schedules=SCHEDULES,
)


def create_app(settings: PairingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The pairing service's app (`uvicorn --factory services.pairing.bootstrap:create_app`)."""
    return runtime_app(SPEC, settings, clock)
