"""Service credentials: bearer tokens that one carepair service presents to another."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from shared.web.errors import ApiError


def authenticate_service(request: Request) -> str:
    """Returns the calling service's name, or refuses with 401."""
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
    for known, name in peers.items():
        if hmac.compare_digest(known, token):
            return name
    raise ApiError(
        401,
        "wrong_credential",
        "the service token is not one this service trusts",
        headers={"WWW-Authenticate": "Bearer"},
    )


ServiceCaller = Annotated[str, Depends(authenticate_service)]
