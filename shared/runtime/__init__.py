"""What every service process runs: its store, relay, consumers and FastAPI app, wired once."""

from shared.runtime.app import create_service_app
from shared.runtime.service import ServiceRuntime, ServiceSpec

__all__ = ["ServiceRuntime", "ServiceSpec", "create_service_app"]
