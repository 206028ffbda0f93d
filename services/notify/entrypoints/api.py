"""HTTP routes of the notify service (health, metrics and feed until its domain lands)."""

from fastapi import FastAPI

from services.notify.bootstrap import build_runtime
from shared.runtime import create_service_app


def create_app() -> FastAPI:
    """The notify service's app (`uvicorn --factory services.notify.entrypoints.api:create_app`)."""
    return create_service_app(build_runtime(), [], title="carepair notify")
