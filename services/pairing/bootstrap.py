"""Wires the pairing service: store, relay and health; its domain arrives with its own issue."""

from services.pairing.settings import PairingSettings
from shared.runtime import ServiceRuntime, ServiceSpec

SPEC = ServiceSpec(name="pairing")


def build_runtime(settings: PairingSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or PairingSettings())
