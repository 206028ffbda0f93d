"""The reporting service's spec: its routes and its compliance read model fed by the visits service."""

from pathlib import Path

from fastapi import FastAPI

from services.reporting.entrypoints import api
from services.reporting.projections import COMPLIANCE
from services.reporting.settings import ReportingSettings
from shared.clock import Clock
from shared.runtime import ServiceBasics, ServiceSpec
from shared.runtime import create_app as runtime_app

SPEC = ServiceSpec[ServiceBasics](
    name="reporting",
    title="carepair reporting",
    settings=ReportingSettings,
    dependencies=ServiceBasics.of,
    routers=(api.router,),
    migrations=(Path(__file__).parent / "migrations" / "versions",),
    projections=(COMPLIANCE,),
)


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The reporting service's app (`uvicorn --factory services.reporting.bootstrap:create_app`)."""
    return runtime_app(SPEC, settings, clock)
