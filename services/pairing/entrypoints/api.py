"""HTTP routes of the pairing service (health, metrics and feed until its domain lands)."""

from fastapi import FastAPI

from services.pairing.bootstrap import build_runtime
from shared.runtime import create_service_app


def create_app() -> FastAPI:
    """The pairing service's app (`uvicorn --factory services.pairing.entrypoints.api:create_app`)."""
    return create_service_app(build_runtime(), [], title="carepair pairing")
