"""What the pairing service's daily jobs look for in its read models (`entrypoints/schedules.py`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa

from services.pairing.adapters.tables import scheduled_changes, subject_index
from shared.contracts.people import SubjectCategory

if TYPE_CHECKING:
    from services.pairing.handlers import PairingDeps


async def active_orphans(deps: PairingDeps) -> list[str]:
    """The ids of the orphans still cared for (their birth dates are sealed: read the streams)."""
    async with deps.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(subject_index.c.subject_id).where(
                subject_index.c.category == SubjectCategory.orphan.value,
                subject_index.c.status == "active",
            )
        )
        return list(rows.scalars().all())


async def due_changes(deps: PairingDeps, today: date) -> list[tuple[str, str]]:
    """(stream kind, owner id) of every scheduled change due by `today`, oldest first."""
    async with deps.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(scheduled_changes.c.stream, scheduled_changes.c.owner_id)
            .where(scheduled_changes.c.effective_on <= today)
            .order_by(scheduled_changes.c.effective_on, scheduled_changes.c.owner_id)
        )
        return [(stream, owner_id) for stream, owner_id in rows.all()]
