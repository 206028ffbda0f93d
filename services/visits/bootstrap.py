"""The visits service's spec: its routes and its runtime (store, relay), no read models of its own yet."""

from fastapi import FastAPI

from services.visits.entrypoints import api
from services.visits.settings import VisitsSettings
from shared.clock import Clock
from shared.runtime import ServiceBasics, ServiceSpec
from shared.runtime import create_app as runtime_app

SPEC = ServiceSpec[ServiceBasics](
    name="visits",
    title="carepair visits",
    settings=VisitsSettings,
    dependencies=ServiceBasics.of,
    routers=(api.router,),
)


def create_app(settings: VisitsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The visits service's app (`uvicorn --factory services.visits.bootstrap:create_app`)."""
    return runtime_app(SPEC, settings, clock)
