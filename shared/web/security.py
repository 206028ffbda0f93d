"""Service credentials: bearer tokens that one carepair process presents to another, and scopes."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from shared.web.errors import ApiError


def authenticate_service(request: Request) -> str:
    """Returns the calling service's name, or refuses with 401."""
    known = getattr(request.state, "service_caller", None)
    if known is not None:
        return str(known)
    peers: dict[str, str] = request.app.state.peers
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "missing_credential",
            "this endpoint is for carepair services: send `Authorization: Bearer <service token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    for candidate, name in peers.items():
        if hmac.compare_digest(candidate, token):
            request.state.service_caller = name
            return name
    raise ApiError(
        401,
        "wrong_credential",
        "the service token is not one this service trusts",
        headers={"WWW-Authenticate": "Bearer"},
    )


# Declared so that OpenAPI shows each route's scope; the token itself is checked below.
SERVICE_TOKEN = HTTPBearer(
    auto_error=False, scheme_name="serviceToken", description="a carepair service token"
)


def caller_with_scope(
    scopes: SecurityScopes,
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(SERVICE_TOKEN)],
) -> str:
    """The caller, if it is granted every scope the route names (shared/web/scopes.py); else 403."""
    caller = authenticate_service(request)
    grants: Mapping[str, frozenset[str]] = request.app.state.grants
    missing = [scope for scope in scopes.scopes if scope not in grants.get(caller, frozenset())]
    if missing:
        raise ApiError(
            403,
            "forbidden_route",
            f"{caller} may not use this route: it needs the scope {', '.join(missing)}",
        )
    return caller


def requires(scope: str) -> Any:
    """The dependency of a router or route that needs `scope`: `APIRouter(dependencies=[…])`."""
    return Security(caller_with_scope, scopes=[scope])
