"""What the pairing service answers: contact cards, responsibility on a day, queues, audits, plans.

`cards` reads the read models for ids and opens the sealed streams for details; `suggestions`
gathers the people of a township or unit and runs the solver over them.
"""

from services.pairing.views.cards import (
    WORK_STANDARD,
    contact_card,
    open_reviews,
    override_audit,
    pairings_of_unit,
    reassignment_queue,
    responsible_on,
    upcoming_changes,
)

__all__ = [
    "WORK_STANDARD",
    "contact_card",
    "open_reviews",
    "override_audit",
    "pairings_of_unit",
    "reassignment_queue",
    "responsible_on",
    "upcoming_changes",
]
