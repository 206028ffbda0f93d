"""Changes dated ahead take effect on their day: the daily round appends the real events.

A retirement, transfer or ending dated after the programme's today is recorded in its stream
as a scheduled change (`CadreDepartureScheduled`, `PairingEndScheduled`) and changes nothing
else. At start and then every day at the set local time this round finds, in the read model
`scheduled_changes`, those due by today and appends the real event (`CadreRetired`,
`CadreTransferred`, `PairingEnded`), decided from the stream itself. Registries, reactions and
other services therefore see the real event only when it happens. A change already applied,
replaced or overtaken decides nothing, so a repeat, or the round of another process, adds
nothing.
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from services.pairing.adapters.tables import scheduled_changes
from services.pairing.domain import cadre as cadres
from services.pairing.domain import subject as subjects
from services.pairing.handlers import PairingDeps
from shared.eventstore import AppendResult, ConcurrencyConflict, Metadata
from shared.personal import PersonErased
from shared.schedule import DailyJob


async def apply_due_changes(deps: PairingDeps) -> int:
    """Appends every scheduled change due by today; returns how many took effect."""
    today = deps.today()
    async with deps.engine.connect() as conn:
        due = (
            await conn.execute(
                sa.select(scheduled_changes.c.stream, scheduled_changes.c.owner_id)
                .where(scheduled_changes.c.effective_on <= today)
                .order_by(scheduled_changes.c.effective_on, scheduled_changes.c.owner_id)
            )
        ).all()
    meta = Metadata(actor="pairing:calendar")
    applied = 0
    for stream, owner_id in due:
        try:
            if await _apply(deps, stream, owner_id, today, meta) is not None:
                applied += 1
        except (ConcurrencyConflict, PersonErased):
            continue  # written meanwhile: the next round decides again; erased: nothing to write
    return applied


async def _apply(
    deps: PairingDeps, stream: str, owner_id: str, today: date, meta: Metadata
) -> AppendResult | None:
    """Appends the real event of the stream's change if it is still pending and due."""
    if stream == "cadre":
        cadre = await deps.repo.cadre(owner_id)
        events = cadres.decide_due(cadre, today)
        return await deps.repo.append_cadre(cadre, events, meta) if events else None
    subject = await deps.repo.subject(owner_id)
    events = subjects.decide_due_end(subject, today)
    return await deps.repo.append_subject(subject, events, meta) if events else None


class ScheduledChanges(DailyJob):
    """Runs `apply_due_changes` at start and then every day at `at` in the programme's zone."""

    def __init__(self, deps: PairingDeps, at: time) -> None:
        super().__init__("scheduled-changes", lambda: apply_due_changes(deps), deps.clock, at)
