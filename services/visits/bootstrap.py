"""Wires the visits service: its runtime (store, relay) with no read models of its own yet."""

from services.visits.settings import VisitsSettings
from shared.clock import Clock
from shared.runtime import ServiceRuntime, ServiceSpec

SPEC = ServiceSpec(name="visits")


def build_runtime(settings: VisitsSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or VisitsSettings(), clock=clock)
