"""What the visits service does, one function per command; the table at the end lists them.

A handler loads what its command decides on, lets the domain decide, and appends: it takes the
service's dependencies, the command and who asked (`Metadata`), and speaks no SQL and no HTTP.
"""

from __future__ import annotations

from services.visits.domain.commands import LogVisit
from services.visits.domain.visit import decide_log_visit
from shared.eventstore import NO_STREAM, AppendResult, Metadata
from shared.runtime.basics import ServiceBasics


def visit_stream(visit_id: object) -> str:
    return f"visit-{visit_id}"


async def log_visit(deps: ServiceBasics, command: LogVisit, meta: Metadata) -> AppendResult:
    """Stores a work record as its own stream; logging the same visit id twice is a conflict."""
    events = decide_log_visit(command, deps.today())
    return await deps.store.append(visit_stream(command.visit_id), NO_STREAM, events, meta)


COMMAND_HANDLERS = {"LogVisit": log_visit}
