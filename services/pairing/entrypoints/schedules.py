"""The pairing service's timers: jobs that the calendar starts, as routes are started by requests.

Each runs once when the service starts, to catch up on the days it was down, and then every day
at `CAREPAIR_PAIRING_DAILY_AT` (00:30) in the programme's zone; the service's spec declares them
(`SCHEDULES`) and the runtime runs them. Each is idempotent, so a repeat, or the round of
another process of the service, adds nothing.

- **`adult-watch`** (`mark_adults`): an orphan turns 18 without anyone reporting it. The round
  looks at every active orphan (birth dates are sealed, so it reads the streams) and records
  `SubjectSituationChanged(turned_18)` for those whose 18th birthday has passed; that opens the
  review of their pairing as any reported change does. A subject who already has it is skipped.
- **`scheduled-changes`** (`apply_due_changes`): changes dated ahead take effect on their day. A
  retirement, transfer or ending dated after the programme's today is recorded in its stream as
  a scheduled change (`CadreDepartureScheduled`, `PairingEndScheduled`) and changes nothing else.
  The round finds, in the read model `scheduled_changes`, those due by today and appends the
  real event (`CadreRetired`, `CadreTransferred`, `PairingEnded`), decided from the stream
  itself. Registries, reactions and other services therefore see the real event only when it
  happens. A change already applied, replaced or overtaken decides nothing.
"""

from __future__ import annotations

from services.pairing import handlers
from services.pairing.domain.commands import ApplyDueChange, MarkAdult
from services.pairing.handlers import PairingDeps
from services.pairing.settings import PairingSettings
from services.pairing.views import calendar
from shared.eventstore import ConcurrencyConflict, Metadata
from shared.personal import PersonErased
from shared.runtime import Schedule

# --- adult-watch ---------------------------------------------------------------------------


async def mark_adults(deps: PairingDeps) -> int:
    """Records turned_18 for every active orphan now adult; returns how many were recorded."""
    meta = Metadata(actor="pairing:calendar")
    recorded = 0
    for subject_id in await calendar.active_orphans(deps):
        try:
            if await handlers.mark_adult(deps, MarkAdult(subject_id=subject_id), meta) is not None:
                recorded += 1
        except ConcurrencyConflict:
            continue  # changed meanwhile, three times over: tomorrow's round sees it again
    return recorded


# --- scheduled-changes ---------------------------------------------------------------------


async def apply_due_changes(deps: PairingDeps) -> int:
    """Appends every scheduled change due by today; returns how many took effect."""
    today = deps.today()
    due = await calendar.due_changes(deps, today)
    meta = Metadata(actor="pairing:calendar")
    applied = 0
    for stream, owner_id in due:
        try:
            change = ApplyDueChange(stream=stream, owner_id=owner_id)
            if await handlers.apply_due_change(deps, change, meta) is not None:
                applied += 1
        except (ConcurrencyConflict, PersonErased):
            continue  # written meanwhile: the next round decides again; erased: nothing to write
    return applied


ADULT_WATCH = Schedule[PairingDeps].daily("adult-watch", mark_adults, at=PairingSettings.daily_at)
SCHEDULED_CHANGES = Schedule[PairingDeps].daily(
    "scheduled-changes", apply_due_changes, at=PairingSettings.daily_at
)
SCHEDULES = (ADULT_WATCH, SCHEDULED_CHANGES)
