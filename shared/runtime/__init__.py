"""What every service process runs: its store, relay, consumers, reactors, schedules and app.

A service declares them in one `ServiceSpec` (`shared/runtime/spec.py`) and builds its app with
`create_app(SPEC, settings, clock)`; routes reach its dependencies with `deps_of(D)`.
"""

from shared.runtime.app import create_app, create_service_app
from shared.runtime.basics import ServiceBasics
from shared.runtime.service import ServiceRuntime
from shared.runtime.spec import ReactorSpec, Schedule, ServiceSpec, Started
from shared.runtime.web import Basics, deps_of, runtime_of

__all__ = [
    "Basics",
    "ReactorSpec",
    "Schedule",
    "ServiceBasics",
    "ServiceRuntime",
    "ServiceSpec",
    "Started",
    "create_app",
    "create_service_app",
    "deps_of",
    "runtime_of",
]
