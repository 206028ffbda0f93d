"""The pairing service's read models, fed from its own events (no personal data in them).

The projection takes a whole batch at once: it loads the rows the batch touches (one query per
table), applies each event to them in memory, in order, and writes every row's last state back
with a few multi-row statements, in the checkpoint's transaction. Each event's effect is a
plain function of the rows below, so the order and the outcome are those of one event at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.pairing.adapters.tables import (
    cadre_columns,
    cadre_index,
    pairing_history,
    reviews,
    rule_overrides,
    scheduled_changes,
    subject_index,
)
from shared.contracts.pairing import (
    CadreDepartureScheduled,
    CadrePlaced,
    CadreRankChanged,
    CadreReassigned,
    CadreRegistered,
    CadreRetired,
    CadreTransferred,
    PairingEnded,
    PairingEndScheduled,
    PairingReviewDecided,
    PairingReviewOpened,
    ReassignmentNeeded,
    RuleOverridden,
    SubjectDetails,
    SubjectExited,
    SubjectPaired,
    SubjectSituationChanged,
)
from shared.eventstore import Envelope
from shared.messaging.projection import Projection, Rows


@dataclass
class ReadModel:
    """The rows of the pairing read models that one batch touches."""

    subjects: Rows = field(default_factory=lambda: Rows(subject_index))
    cadres: Rows = field(default_factory=lambda: Rows(cadre_index))
    history: Rows = field(default_factory=lambda: Rows(pairing_history))
    overrides: Rows = field(default_factory=lambda: Rows(rule_overrides))
    reviews: Rows = field(default_factory=lambda: Rows(reviews))
    scheduled: Rows = field(default_factory=lambda: Rows(scheduled_changes))

    async def load(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        """Loads every row an event of the batch reads or changes, one query per table."""
        wanted: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _LOADS}
        exited: list[str] = []
        for envelope in envelopes:
            event = envelope.payload
            for name, by_type in _LOADS.items():
                if (key := by_type.get(envelope.event_type)) is not None:
                    wanted[name].append(key(event))
            if isinstance(event, SubjectExited):
                exited.append(event.subject_id)
        for name, keys in wanted.items():
            await getattr(self, name).load(conn, keys)
        if exited:  # an exit closes the subject's open reviews, found by subject
            table = self.reviews.table
            for chunk in _chunks(sorted(set(exited))):
                await self.reviews.load_where(conn, table.c.subject_id.in_(chunk), table.c.decision.is_(None))

    async def flush(self, conn: AsyncConnection) -> None:
        for rows in (self.subjects, self.cadres, self.history, self.overrides, self.reviews, self.scheduled):
            await rows.flush(conn)


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _subject(event: Any) -> tuple[Any, ...]:
    return (event.subject_id,)


def _cadre(event: Any) -> tuple[Any, ...]:
    return (event.cadre_id,)


# Which row of which table each event type reads or changes (inserts of new rows need none).
_LOADS: dict[str, dict[str, Callable[[Any], tuple[Any, ...]]]] = {
    "subjects": dict.fromkeys(
        (
            "SubjectRegistered",
            "SubjectDetailsChanged",
            "SubjectSituationChanged",
            "SubjectExited",
            "SubjectPaired",
            "CadreReassigned",
            "ReassignmentNeeded",
        ),
        _subject,
    ),
    "cadres": dict.fromkeys(
        ("CadreRegistered", "CadreRetired", "CadreTransferred", "CadreRankChanged", "CadrePlaced"), _cadre
    ),
    "history": {
        "PairingEnded": lambda e: (e.pairing_id,),
        "CadreReassigned": lambda e: (e.previous_pairing_id,),
    },
    "reviews": {"PairingReviewDecided": lambda e: (e.review_id,)},
    "scheduled": {
        **dict.fromkeys(
            ("SubjectExited", "PairingEnded", "CadreReassigned", "PairingEndScheduled"),
            lambda e: ("subject", e.subject_id),
        ),
        **dict.fromkeys(
            ("CadreRetired", "CadreTransferred", "CadreDepartureScheduled"), lambda e: ("cadre", e.cadre_id)
        ),
    },
}


def subject_details(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectDetails)
    # The place that decides responsibility: where the subject actually lives, or, for someone
    # living outside the province, the registered place here (as the rules use it).
    place = event.registered_place if event.residence.outside_province else event.residence
    values = {
        "subject_id": event.subject_id,
        "household_id": event.household_id,
        "category": event.category.value,
        "gender": event.gender.value,
        "county_code": place.county_code,
        "township_code": place.township_code,
        "village_code": place.village_code,
        "outside_province": place.outside_province,
    }
    if envelope.event_type == "SubjectDetailsChanged":
        rm.subjects.update((event.subject_id,), **values)
    else:
        rm.subjects.upsert({**values, "status": "active"})


def subject_moved(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectSituationChanged)
    if event.new_residence is None:
        return
    place = event.new_residence
    if place.outside_province:
        return  # responsibility stays with the registered place in the province
    rm.subjects.update(
        (event.subject_id,),
        county_code=place.county_code,
        township_code=place.township_code,
        village_code=place.village_code,
        outside_province=place.outside_province,
    )


def subject_exited(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectExited)
    rm.subjects.update((event.subject_id,), status="exited", waiting_since=None, waiting_unit=None)
    for key in rm.reviews.matching(lambda r: r["subject_id"] == event.subject_id and r["decision"] is None):
        rm.reviews.update(key, decision="closed")
    _unscheduled(rm, "subject", event.subject_id)


def cadre_details(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, CadreRegistered)
    rm.cadres.upsert({**cadre_columns(event), "status": "active"})


def cadre_changed(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    key = (getattr(event, "cadre_id", None),)
    match event:
        case CadreRetired():
            rm.cadres.update(key, status="retired_continuing" if event.continues else "retired")
            _unscheduled(rm, "cadre", event.cadre_id)
        case CadreTransferred():
            values: dict[str, Any] = {"unit_id": event.unit_id, "links": event.links.model_dump(mode="json")}
            if event.leaves_area:
                values["status"] = "transferred_away"
            rm.cadres.update(key, **values)
            _unscheduled(rm, "cadre", event.cadre_id)
        case CadreRankChanged():
            rm.cadres.update(
                key, tier=event.rank.tier.value, title=event.rank.title.value, kind=event.kind.value
            )
        case CadrePlaced():
            rm.cadres.update(key, links=event.links.model_dump(mode="json"))


def paired(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectPaired)
    rm.history.insert(
        {
            "pairing_id": event.pairing_id,
            "subject_id": event.subject_id,
            "cadre_id": event.cadre_id,
            "household_id": event.household_id,
            "unit_id": event.unit_id,
            "started_on": event.effective_on,
        }
    )
    _not_waiting(rm, event.subject_id)


def ended(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingEnded)
    rm.history.update((event.pairing_id,), ended_on=event.effective_on, end_reason=event.reason.value)
    _unscheduled(rm, "subject", event.subject_id)


def reassigned(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, CadreReassigned)
    previous = rm.history.get((event.previous_pairing_id,))
    if previous is not None and previous["ended_on"] is None:
        rm.history.update((event.previous_pairing_id,), ended_on=event.effective_on, end_reason="reassigned")
    rm.history.insert(
        {
            "pairing_id": event.pairing_id,
            "subject_id": event.subject_id,
            "cadre_id": event.to_cadre_id,
            "household_id": event.household_id,
            "unit_id": event.unit_id,
            "started_on": event.effective_on,
        }
    )
    _not_waiting(rm, event.subject_id)
    _unscheduled(rm, "subject", event.subject_id)


def needs_reassignment(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, ReassignmentNeeded)
    rm.subjects.update((event.subject_id,), waiting_since=event.since, waiting_unit=event.unit_id)


def _not_waiting(rm: ReadModel, subject_id: str) -> None:
    rm.subjects.update((subject_id,), waiting_since=None, waiting_unit=None)


def scheduled(rm: ReadModel, envelope: Envelope) -> None:
    """A change dated ahead: the stream's one pending change, found by the daily round on its day."""
    event = envelope.payload
    if isinstance(event, CadreDepartureScheduled):
        values = {"stream": "cadre", "owner_id": event.cadre_id, "effective_on": event.effective_on}
    else:
        assert isinstance(event, PairingEndScheduled)
        values = {"stream": "subject", "owner_id": event.subject_id, "effective_on": event.effective_on}
    rm.scheduled.upsert(values)


def _unscheduled(rm: ReadModel, stream: str, owner: str) -> None:
    """The real change happened (or replaced the scheduled one): nothing is pending any more."""
    rm.scheduled.delete((stream, owner))


def overridden(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, RuleOverridden)
    rm.overrides.insert(
        {
            "position": envelope.position,
            "pairing_id": event.pairing_id,
            "subject_id": event.subject_id,
            "cadre_id": event.cadre_id,
            "rule": event.rule,
            "operator": event.operator,
            "recorded_at": envelope.recorded_at,
        }
    )


def review_opened(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingReviewOpened)
    rm.reviews.insert(
        {
            "review_id": event.review_id,
            "pairing_id": event.pairing_id,
            "subject_id": event.subject_id,
            "cadre_id": event.cadre_id,
            "cause": event.cause,
            "opened_at": envelope.recorded_at,
        }
    )


def review_decided(rm: ReadModel, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingReviewDecided)
    rm.reviews.update((event.review_id,), decision=event.decision.value)


EVOLVE: dict[str, Callable[[ReadModel, Envelope], None]] = {
    "SubjectRegistered": subject_details,
    "SubjectDetailsChanged": subject_details,
    "SubjectSituationChanged": subject_moved,
    "SubjectExited": subject_exited,
    "CadreRegistered": cadre_details,
    "CadreRetired": cadre_changed,
    "CadreTransferred": cadre_changed,
    "CadreRankChanged": cadre_changed,
    "CadrePlaced": cadre_changed,
    "SubjectPaired": paired,
    "PairingEnded": ended,
    "CadreReassigned": reassigned,
    "ReassignmentNeeded": needs_reassignment,
    "RuleOverridden": overridden,
    "PairingReviewOpened": review_opened,
    "PairingReviewDecided": review_decided,
    "CadreDepartureScheduled": scheduled,
    "PairingEndScheduled": scheduled,
}


async def apply_batch(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """Applies a batch of the service's events to its read models with a few statements per table."""
    rm = ReadModel()
    await rm.load(conn, envelopes)
    for envelope in envelopes:
        EVOLVE[envelope.event_type](rm, envelope)
    await rm.flush(conn)


PAIRING_INDEX = Projection.batched("pairing-index", ("pairing",), EVOLVE, apply_batch)
