"""Who is writing: the metadata every command carries into the events it produces."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import Depends, Request

from shared.eventstore.envelope import Metadata
from shared.web.security import authenticate_service

ACTOR_HEADER = "Carepair-Actor"


def command_metadata(request: Request) -> Metadata:
    """Metadata for a command: the acting person (set by the gateway) and the correlation id.

    Only carepair services may call a service's command endpoints; the gateway names the
    person it authenticated in `Carepair-Actor`.
    """
    caller = authenticate_service(request)
    actor = request.headers.get(ACTOR_HEADER) or f"service:{caller}"
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    try:
        correlation_id = uuid.UUID(correlation) if correlation else uuid.uuid4()
    except ValueError:
        correlation_id = uuid.uuid4()
    return Metadata(actor=actor, correlation_id=correlation_id)


CommandMeta = Annotated[Metadata, Depends(command_metadata)]
