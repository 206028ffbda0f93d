"""Wires the notify service: store, relay and health; its domain arrives with its own issue."""

from services.notify.settings import NotifySettings
from shared.runtime import ServiceRuntime, ServiceSpec

SPEC = ServiceSpec(name="notify")


def build_runtime(settings: NotifySettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or NotifySettings())
