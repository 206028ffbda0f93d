"""The notify service's spec: store, relay and health; its reminders (SMS, WeChat) are still to come.

When it gains outbound clients (SMS, WeChat), its own dependencies type replaces
`ServiceBasics`, built by `dependencies`, and `fakes` builds the same with in-memory senders.
"""

from fastapi import FastAPI

from services.notify.entrypoints import api
from services.notify.settings import NotifySettings
from shared.clock import Clock
from shared.runtime import ServiceBasics, ServiceSpec
from shared.runtime import create_app as runtime_app

SPEC = ServiceSpec[ServiceBasics](
    name="notify",
    title="carepair notify",
    settings=NotifySettings,
    dependencies=ServiceBasics.of,
    routers=api.ROUTERS,
)


def create_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The notify service's app (`uvicorn --factory services.notify.bootstrap:create_app`)."""
    return runtime_app(SPEC, settings, clock)
