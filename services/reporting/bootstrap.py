"""Wires the reporting service: its compliance read model fed by the visits service."""

from pathlib import Path

from services.reporting.projections import COMPLIANCE
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.runtime import ServiceRuntime, ServiceSpec

SPEC = ServiceSpec(
    name="reporting",
    migrations=(Path(__file__).parent / "migrations" / "versions",),
    projections=(COMPLIANCE,),
)


def build_runtime(settings: ReportingSettings | None = None, clock: Clock | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or ReportingSettings(), clock=clock)
