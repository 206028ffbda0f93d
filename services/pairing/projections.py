"""The pairing service's read models, fed from its own events (no personal data in them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
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
from shared.database import dialect_insert
from shared.eventstore import Envelope
from shared.messaging.projection import Handler, Projection


def _upsert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any], *keys: str) -> Any:
    insert = dialect_insert(conn.dialect.name)
    statement = insert(table).values(**values)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={k: statement.excluded[k] for k in values if k not in keys}
    )


async def subject_details(conn: AsyncConnection, envelope: Envelope) -> None:
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
        "status": "active",
    }
    if envelope.event_type == "SubjectDetailsChanged":
        values.pop("status")
        await conn.execute(
            sa.update(subject_index).where(subject_index.c.subject_id == event.subject_id).values(**values)
        )
    else:
        await conn.execute(_upsert(conn, subject_index, values, "subject_id"))


async def subject_moved(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectSituationChanged)
    if event.new_residence is None:
        return
    place = event.new_residence
    if place.outside_province:
        return  # responsibility stays with the registered place in the province
    await conn.execute(
        sa.update(subject_index)
        .where(subject_index.c.subject_id == event.subject_id)
        .values(
            county_code=place.county_code,
            township_code=place.township_code,
            village_code=place.village_code,
            outside_province=place.outside_province,
        )
    )


async def subject_exited(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectExited)
    await conn.execute(
        sa.update(subject_index)
        .where(subject_index.c.subject_id == event.subject_id)
        .values(status="exited", waiting_since=None, waiting_unit=None)
    )
    await conn.execute(
        sa.update(reviews)
        .where(reviews.c.subject_id == event.subject_id, reviews.c.decision.is_(None))
        .values(decision="closed")
    )
    await _unscheduled(conn, "subject", event.subject_id)


async def cadre_details(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, CadreRegistered)
    values = {**cadre_columns(event), "status": "active"}
    await conn.execute(_upsert(conn, cadre_index, values, "cadre_id"))


async def cadre_changed(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    where = cadre_index.c.cadre_id == getattr(event, "cadre_id", None)
    match event:
        case CadreRetired():
            status = "retired_continuing" if event.continues else "retired"
            await conn.execute(sa.update(cadre_index).where(where).values(status=status))
            await _unscheduled(conn, "cadre", event.cadre_id)
        case CadreTransferred():
            values: dict[str, Any] = {"unit_id": event.unit_id, "links": event.links.model_dump(mode="json")}
            if event.leaves_area:
                values["status"] = "transferred_away"
            await conn.execute(sa.update(cadre_index).where(where).values(**values))
            await _unscheduled(conn, "cadre", event.cadre_id)
        case CadreRankChanged():
            await conn.execute(
                sa.update(cadre_index)
                .where(where)
                .values(tier=event.rank.tier.value, title=event.rank.title.value, kind=event.kind.value)
            )
        case CadrePlaced():
            await conn.execute(
                sa.update(cadre_index).where(where).values(links=event.links.model_dump(mode="json"))
            )


async def paired(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, SubjectPaired)
    await conn.execute(
        sa.insert(pairing_history).values(
            pairing_id=event.pairing_id,
            subject_id=event.subject_id,
            cadre_id=event.cadre_id,
            household_id=event.household_id,
            unit_id=event.unit_id,
            started_on=event.effective_on,
        )
    )
    await _not_waiting(conn, event.subject_id)


async def ended(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingEnded)
    await conn.execute(
        sa.update(pairing_history)
        .where(pairing_history.c.pairing_id == event.pairing_id)
        .values(ended_on=event.effective_on, end_reason=event.reason.value)
    )
    await _unscheduled(conn, "subject", event.subject_id)


async def reassigned(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, CadreReassigned)
    await conn.execute(
        sa.update(pairing_history)
        .where(
            pairing_history.c.pairing_id == event.previous_pairing_id, pairing_history.c.ended_on.is_(None)
        )
        .values(ended_on=event.effective_on, end_reason="reassigned")
    )
    await conn.execute(
        sa.insert(pairing_history).values(
            pairing_id=event.pairing_id,
            subject_id=event.subject_id,
            cadre_id=event.to_cadre_id,
            household_id=event.household_id,
            unit_id=event.unit_id,
            started_on=event.effective_on,
        )
    )
    await _not_waiting(conn, event.subject_id)
    await _unscheduled(conn, "subject", event.subject_id)


async def needs_reassignment(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, ReassignmentNeeded)
    await conn.execute(
        sa.update(subject_index)
        .where(subject_index.c.subject_id == event.subject_id)
        .values(waiting_since=event.since, waiting_unit=event.unit_id)
    )


async def _not_waiting(conn: AsyncConnection, subject_id: str) -> None:
    await conn.execute(
        sa.update(subject_index)
        .where(subject_index.c.subject_id == subject_id)
        .values(waiting_since=None, waiting_unit=None)
    )


async def scheduled(conn: AsyncConnection, envelope: Envelope) -> None:
    """A change dated ahead: the stream's one pending change, found by the daily round on its day."""
    event = envelope.payload
    if isinstance(event, CadreDepartureScheduled):
        values = {"stream": "cadre", "owner_id": event.cadre_id, "effective_on": event.effective_on}
    else:
        assert isinstance(event, PairingEndScheduled)
        values = {"stream": "subject", "owner_id": event.subject_id, "effective_on": event.effective_on}
    await conn.execute(_upsert(conn, scheduled_changes, values, "stream", "owner_id"))


async def _unscheduled(conn: AsyncConnection, stream: str, owner: str) -> None:
    """The real change happened (or replaced the scheduled one): nothing is pending any more."""
    await conn.execute(
        sa.delete(scheduled_changes).where(
            scheduled_changes.c.stream == stream, scheduled_changes.c.owner_id == owner
        )
    )


async def overridden(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, RuleOverridden)
    await conn.execute(
        sa.insert(rule_overrides).values(
            position=envelope.position,
            pairing_id=event.pairing_id,
            subject_id=event.subject_id,
            cadre_id=event.cadre_id,
            rule=event.rule,
            operator=event.operator,
            recorded_at=envelope.recorded_at,
        )
    )


async def review_opened(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingReviewOpened)
    await conn.execute(
        sa.insert(reviews).values(
            review_id=event.review_id,
            pairing_id=event.pairing_id,
            subject_id=event.subject_id,
            cadre_id=event.cadre_id,
            cause=event.cause,
            opened_at=envelope.recorded_at,
        )
    )


async def review_decided(conn: AsyncConnection, envelope: Envelope) -> None:
    event = envelope.payload
    assert isinstance(event, PairingReviewDecided)
    await conn.execute(
        sa.update(reviews).where(reviews.c.review_id == event.review_id).values(decision=event.decision.value)
    )


HANDLERS: dict[str, Handler] = {
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

PAIRING_INDEX = Projection(name="pairing-index", producers=("pairing",), handlers=HANDLERS)
