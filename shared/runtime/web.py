"""How a route reaches what its service runs: typed, through FastAPI dependencies.

    deps = deps_of(PairingDeps)

    @router.get("/subjects/{subject_id}/card")
    async def card(subject_id: str, pairing: Annotated[PairingDeps, Depends(deps)]) -> ...

`deps_of(D)` answers the object the service's spec built at start (`ServiceSpec.dependencies`),
checked to be a `D`; `Basics` is the same for a service that uses `ServiceBasics`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from shared.runtime.basics import ServiceBasics
from shared.runtime.service import ServiceRuntime

D = TypeVar("D")


def runtime_of(request: Request) -> ServiceRuntime[Any]:
    """The runtime of the service that serves `request`."""
    runtime = request.app.state.runtime
    assert isinstance(runtime, ServiceRuntime), "the app was not built by shared.runtime.create_app"
    return runtime


def deps_of(kind: type[D]) -> Callable[[Request], D]:
    """A route dependency answering the service's dependencies, typed as `kind`."""

    def dependency(request: Request) -> D:
        deps = runtime_of(request).deps
        if not isinstance(deps, kind):
            raise TypeError(f"the service's dependencies are a {type(deps).__name__}, not a {kind.__name__}")
        return deps

    dependency.__name__ = f"deps_of_{kind.__name__}"
    return dependency


#: The store, database and clock of a service that declares `ServiceBasics` as its dependencies.
Basics = Annotated[ServiceBasics, Depends(deps_of(ServiceBasics))]
