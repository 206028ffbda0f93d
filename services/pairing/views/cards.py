"""What the pairing service answers: contact cards, responsibility on a day, queues, audits.

Read models give the ids; personal details come from the sealed streams, opened on demand,
so an erased person reads as erased here too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from services.pairing.adapters.registries import cadre_stream, subject_stream
from services.pairing.adapters.tables import (
    active_pairings,
    pairing_history,
    reviews,
    rule_overrides,
    subject_index,
)
from services.pairing.domain import cadre as cadre_domain
from services.pairing.domain import subject as subject_domain
from services.pairing.domain.cadre import CadreState
from services.pairing.domain.rank import describe
from services.pairing.domain.subject import SubjectState
from services.pairing.handlers import PairingDeps
from shared.contracts.base import ERASED
from shared.contracts.pairing import PlannedRetirement
from shared.eventstore.schema import events
from shared.eventstore.sql import stored_event

WORK_STANDARD = (
    "结对干部每年通过电话、短信、微信、书信等方式与关爱对象联系交流不少于4次，"
    "到关爱对象家庭或所在机构实地走访探视不少于2次。每次联系交流和走访探视后，填写工作记录表。"
)


def _plain(value: Any) -> Any:
    if value is ERASED:
        return "（已删除）"
    if hasattr(value, "model_dump"):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value


async def card_states(deps: PairingDeps, subject_id: str) -> tuple[SubjectState, CadreState | None]:
    """The subject, and the cadre they are paired with now, from their streams.

    Both streams come in one query (the cadre's found through the `active_pairings` registry,
    committed with the pairing's events, so one statement sees the two agree) and are opened
    in one call, so a card costs one round trip to the store and at most one to the key store.
    Should the subject's stream name another cadre, that cadre's stream is read as well.
    """
    cadre_of = (
        sa.select(sa.literal(cadre_stream("")) + active_pairings.c.cadre_id)
        .where(active_pairings.c.subject_id == subject_id)
        .scalar_subquery()
    )
    own = sa.select(events).where(events.c.stream_id == subject_stream(subject_id))
    held = sa.select(events).where(events.c.stream_id == cadre_of)
    query = sa.union_all(own, held)
    async with deps.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    producer = deps.repo.store.producer
    stored = sorted(
        (stored_event(row, producer) for row in rows), key=lambda e: (e.stream_id, e.stream_version)
    )
    opened = await deps.repo.opener.open_many(stored)
    subject, cadre = SubjectState(subject_id), None
    for event, envelope in zip(stored, opened, strict=True):
        if event.stream_id.startswith(subject_stream("")):
            subject = subject_domain.evolve(subject, envelope.payload)
        else:
            if cadre is None:
                cadre = CadreState(event.stream_id.removeprefix(cadre_stream("")))
            cadre = cadre_domain.evolve(cadre, envelope.payload)
    current = subject.current
    if current is None:
        return subject, None
    if cadre is None or cadre.cadre_id != current.cadre_id:
        cadre = await deps.repo.cadre(current.cadre_id)
    return subject, cadre


async def contact_card(deps: PairingDeps, subject_id: str) -> dict[str, Any] | None:
    """Annex 2: the subject, the guardian, the cadre and the work standard, as of now."""
    subject, cadre = await card_states(deps, subject_id)
    if subject.details is None:
        return None
    d = subject.details
    card: dict[str, Any] = {
        "subject": {
            k: _plain(getattr(d, k))
            for k in (
                "subject_id",
                "household_id",
                "name",
                "gender",
                "ethnicity",
                "birth_date",
                "id_number",
                "phone",
                "residence_address",
                "residence",
                "health",
                "disability_types",
                "disability_level",
                "disability_certificate",
                "category",
                "orphan_type",
                "care_setting",
            )
        },
        "guardian": _plain(d.guardian) if d.guardian else None,
        "cadre": None,
        "status": "exited" if subject.exited else ("paired" if subject.current else "unpaired"),
        "waiting_since": subject.waiting_since.isoformat() if subject.waiting_since else None,
        "scheduled": [],
        "work_standard": WORK_STANDARD,
    }
    current = subject.current
    if current is not None and cadre is not None:
        card["scheduled"] = upcoming_changes(subject, cadre)
        if cadre.details is not None:
            c = cadre.details
            card["cadre"] = {
                "cadre_id": c.cadre_id,
                "name": _plain(c.name),
                "gender": c.gender.value,
                "ethnicity": _plain(c.ethnicity),
                "birth_date": _plain(c.birth_date),
                "unit_name": c.unit_name,
                "post": _plain(c.post),
                "rank": describe(c.rank),
                "phone": _plain(c.phone),
                "since": current.started_on.isoformat(),
            }
    return card


def upcoming_changes(subject: SubjectState, cadre: CadreState) -> list[dict[str, str]]:
    """What is dated ahead for the current pairing: its end, or the cadre's departure."""
    found: list[dict[str, str]] = []
    if (end := subject.scheduled_end) is not None:
        on = end.effective_on.isoformat()
        found.append({"change": "pairing_end", "effective_on": on, "message": f"本结对将于{on}解除"})
    if (departure := cadre.departure) is not None:
        on, planned = departure.effective_on.isoformat(), departure.departure
        if isinstance(planned, PlannedRetirement):
            change, what = "retirement", "退休，退休后继续结对，由原单位管理" if planned.continues else "退休"
        else:
            change, what = "transfer", "调离本县" if planned.leaves_area else f"调至{planned.unit_name}"
        found.append({"change": change, "effective_on": on, "message": f"结对干部将于{on}{what}"})
    return sorted(found, key=lambda item: item["effective_on"])


async def responsible_on(deps: PairingDeps, subject_id: str, day: date) -> dict[str, Any] | None:
    subject = await deps.repo.subject(subject_id)
    if not subject.registered:
        return None
    return {
        "subject_id": subject_id,
        "on": day.isoformat(),
        "cadre_ids": subject.cadres_on(day),
        "history": [
            {
                "pairing_id": str(p.pairing_id),
                "cadre_id": p.cadre_id,
                "unit_id": p.unit_id,
                "started_on": p.started_on.isoformat(),
                "ended_on": p.ended_on.isoformat() if p.ended_on else None,
                "end_reason": p.end_reason.value if p.end_reason else None,
                "overridden": list(p.overridden),
            }
            for p in subject.pairings
        ],
    }


async def reassignment_queue(deps: PairingDeps, today: date) -> list[dict[str, Any]]:
    async with deps.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    subject_index.c.subject_id,
                    subject_index.c.waiting_since,
                    subject_index.c.waiting_unit,
                    subject_index.c.township_code,
                )
                .where(subject_index.c.waiting_since.is_not(None), subject_index.c.status == "active")
                .order_by(subject_index.c.waiting_since, subject_index.c.subject_id)
            )
        ).all()
    return [
        {
            "subject_id": r.subject_id,
            "unit_id": r.waiting_unit,
            "township_code": r.township_code,
            "waiting_since": r.waiting_since.isoformat(),
            # Changes dated ahead wait for their day, so `waiting_since` is never after today;
            # a queue entry written before that rule could be, and waits no negative days.
            "waiting_days": max(0, (today - r.waiting_since).days),
        }
        for r in rows
    ]


async def override_audit(deps: PairingDeps) -> list[dict[str, Any]]:
    async with deps.engine.connect() as conn:
        rows = (
            (await conn.execute(sa.select(rule_overrides).order_by(rule_overrides.c.position)))
            .mappings()
            .all()
        )
    found = []
    for row in rows:
        event = (await deps.repo.store.read_after(row["position"] - 1, 1))[0]
        opened = await deps.repo.opener.open(event)
        found.append(
            {
                "pairing_id": str(row["pairing_id"]),
                "subject_id": row["subject_id"],
                "cadre_id": row["cadre_id"],
                "rule": row["rule"],
                "operator": row["operator"],
                "recorded_at": row["recorded_at"].isoformat(),
                "reason": _plain(opened.payload.reason),  # type: ignore[attr-defined]
            }
        )
    return found


async def open_reviews(deps: PairingDeps) -> list[dict[str, Any]]:
    async with deps.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(reviews).where(reviews.c.decision.is_(None)).order_by(reviews.c.opened_at)
                )
            )
            .mappings()
            .all()
        )
    return [
        {
            "review_id": str(r["review_id"]),
            "pairing_id": str(r["pairing_id"]),
            "subject_id": r["subject_id"],
            "cadre_id": r["cadre_id"],
            "cause": r["cause"],
            "opened_at": r["opened_at"].isoformat(),
        }
        for r in rows
    ]


async def pairings_of_unit(deps: PairingDeps, unit_id: str) -> list[dict[str, Any]]:
    """The unit's pairings in date order: only the columns shown, all in the index the query
    reads (`ix_pairing_history_unit_started`), so the rows need not be fetched from the table."""
    h = pairing_history.c
    query = (
        sa.select(h.pairing_id, h.subject_id, h.cadre_id, h.started_on, h.ended_on, h.end_reason)
        .where(h.unit_id == unit_id)
        .order_by(h.started_on)
    )
    async with deps.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        {
            "pairing_id": str(r["pairing_id"]),
            "subject_id": r["subject_id"],
            "cadre_id": r["cadre_id"],
            "started_on": r["started_on"].isoformat(),
            "ended_on": r["ended_on"].isoformat() if r["ended_on"] else None,
            "end_reason": r["end_reason"],
        }
        for r in rows
    ]
