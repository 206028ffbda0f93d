"""What the visits service does, one function per command; the table at the end lists them."""

from __future__ import annotations

from datetime import date

from services.visits.domain.visit import LogVisit, decide_log_visit
from shared.eventstore import NO_STREAM, AppendResult, EventStore, Metadata


async def log_visit(command: LogVisit, store: EventStore, meta: Metadata, today: date) -> AppendResult:
    """Stores a work record as its own stream; logging the same visit id twice is a conflict."""
    events = decide_log_visit(command, today)
    return await store.append(f"visit-{command.visit_id}", NO_STREAM, events, meta)


COMMAND_HANDLERS = {LogVisit: log_visit}
