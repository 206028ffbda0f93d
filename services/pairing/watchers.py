"""Facts that change with the calendar: an orphan turns 18 without anyone reporting it.

At start and then every day at the set local time (`CAREPAIR_PAIRING_DAILY_AT`) the watcher
looks at every active orphan (birth dates are sealed, so it reads the streams) and records
`SubjectSituationChanged(turned_18)` for those whose 18th birthday has passed; that opens the
review of their pairing as any reported change does. Recording it is idempotent: a subject who
already has it is skipped.
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from services.pairing.adapters.tables import subject_index
from services.pairing.domain import subject as subjects
from services.pairing.domain.commands import ChangeSituation
from services.pairing.domain.eligibility import ADULT_AGE, full_years
from services.pairing.handlers import PairingDeps
from shared.contracts.pairing import Situation
from shared.contracts.people import SubjectCategory
from shared.eventstore import ConcurrencyConflict, Metadata
from shared.schedule import DailyJob


def eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + ADULT_AGE)
    except ValueError:  # born on 29 February: the birthday counts on 1 March
        return date(born.year + ADULT_AGE, 3, 1)


async def mark_adults(deps: PairingDeps) -> int:
    """Records turned_18 for every active orphan now adult; returns how many were recorded."""
    today = deps.today()
    async with deps.engine.connect() as conn:
        orphan_ids = (
            (
                await conn.execute(
                    sa.select(subject_index.c.subject_id).where(
                        subject_index.c.category == SubjectCategory.orphan.value,
                        subject_index.c.status == "active",
                    )
                )
            )
            .scalars()
            .all()
        )
    meta = Metadata(actor="pairing:calendar")
    recorded = 0
    for subject_id in orphan_ids:
        state = await deps.repo.subject(subject_id)
        if state.details is None or state.exited or Situation.turned_18 in state.situation:
            continue
        born = state.details.birth_date
        if not isinstance(born, date) or full_years(born, today) < ADULT_AGE:
            continue  # an erased birth date cannot be judged
        change = ChangeSituation(
            subject_id=subject_id, situation=Situation.turned_18, effective_on=eighteenth_birthday(born)
        )
        try:
            await deps.repo.append_subject(state, subjects.decide_situation(state, change, today), meta)
            recorded += 1
        except ConcurrencyConflict:
            continue  # changed meanwhile: tomorrow's round sees it again
    return recorded


class AdultWatcher(DailyJob):
    """Runs `mark_adults` at start and then every day at `at` in the programme's zone."""

    def __init__(self, deps: PairingDeps, at: time) -> None:
        super().__init__("adult-watch", lambda: mark_adults(deps), deps.clock, at)
