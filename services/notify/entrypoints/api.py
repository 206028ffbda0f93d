"""HTTP routes of the notify service (health, metrics and feed until its domain lands)."""

from fastapi import FastAPI

from services.notify.bootstrap import build_runtime
from services.notify.settings import NotifySettings
from shared.runtime import create_service_app


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """The notify service's app (`uvicorn --factory services.notify.entrypoints.api:create_app`)."""
    return create_service_app(build_runtime(settings), [], title="carepair notify")
