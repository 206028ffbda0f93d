"""What the pairing service does, one function per command; the tables at the end list them.

Each command loads the streams it decides on, reads the context the rules need from the
registries (committed state, never a read model), decides, and appends. A concurrent writer
to the same stream makes the append conflict, and a pairing's append is refused when its
context changed before it committed (`services/pairing/basis.py`); the command is then decided
again on fresh state (at most three times), so two operators racing end with one success and
one clear refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from services.pairing.adapters.repository import Guard, PairingRepository
from services.pairing.basis import committed_context
from services.pairing.domain import cadre as cadres
from services.pairing.domain import pairing as pairings
from services.pairing.domain import subject as subjects
from services.pairing.domain.rules import PairingContext
from shared.clock import Clock
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadreRankChanged,
    CadreRegistered,
    CadreTransferred,
    EndReason,
    ReviewDecision,
    SubjectDetailsChanged,
    SubjectRegistered,
    SubjectSituationChanged,
)
from shared.contracts.people import Links
from shared.eventstore import AppendResult, ConcurrencyConflict, Metadata

T = TypeVar("T")
ATTEMPTS = 3


@dataclass(frozen=True)
class PairingDeps:
    """What the handlers need: the repository, the database for registries and read models, the clock."""

    repo: PairingRepository
    engine: AsyncEngine
    clock: Clock

    def today(self) -> date:
        """The programme's business date, from the process's one clock."""
        return self.clock.today()


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    for remaining in range(ATTEMPTS - 1, -1, -1):
        try:
            return await attempt()
        except ConcurrencyConflict:
            if remaining == 0:
                raise
    raise AssertionError("unreachable")


# --- subjects ---------------------------------------------------------------------------


async def register_subject(deps: PairingDeps, details: SubjectRegistered, meta: Metadata) -> AppendResult:
    state = await deps.repo.subject(details.subject_id)
    events = subjects.decide_register(state, details, deps.today())
    return await deps.repo.append_subject(state, events, meta)


async def change_subject_details(
    deps: PairingDeps, details: SubjectDetailsChanged, meta: Metadata
) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(details.subject_id)
        return await deps.repo.append_subject(state, subjects.decide_change_details(state, details), meta)

    return await _retrying(attempt)


async def change_situation(
    deps: PairingDeps, change: SubjectSituationChanged, meta: Metadata
) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(change.subject_id)
        events = subjects.decide_situation(state, change, deps.today())
        return await deps.repo.append_subject(state, events, meta)

    return await _retrying(attempt)


async def decide_review(
    deps: PairingDeps,
    subject_id: str,
    review_id: uuid.UUID,
    decision: ReviewDecision,
    reason: str,
    decided_by: str,
    unit_confirmed_by: str,
    meta: Metadata,
) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(subject_id)
        events = subjects.decide_review(
            state, review_id, decision, reason, decided_by, unit_confirmed_by, deps.today()
        )
        return await deps.repo.append_subject(state, events, meta)

    return await _retrying(attempt)


# --- cadres -----------------------------------------------------------------------------


async def register_cadre(deps: PairingDeps, details: CadreRegistered, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(details.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_register(state, details), meta)


async def retire_cadre(
    deps: PairingDeps, cadre_id: str, on: date, continues: bool, meta: Metadata
) -> AppendResult:
    state = await deps.repo.cadre(cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_retire(state, on, continues, deps.today()), meta)


async def transfer_cadre(deps: PairingDeps, event: CadreTransferred, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(event.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_transfer(state, event, deps.today()), meta)


async def change_cadre_rank(deps: PairingDeps, event: CadreRankChanged, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(event.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_rank_change(state, event), meta)


async def place_cadre(
    deps: PairingDeps, cadre_id: str, links: Links, reason: str, meta: Metadata
) -> AppendResult:
    state = await deps.repo.cadre(cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_place(state, links, reason), meta)


# --- pairing ----------------------------------------------------------------------------


async def pair(
    deps: PairingDeps,
    subject_id: str,
    cadre_id: str,
    overrides: Mapping[str, str],
    meta: Metadata,
    on: date | None = None,
) -> AppendResult:
    """Pairs a subject with a cadre; refuses with every rule in the way."""

    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(subject_id)
        cadre = await deps.repo.cadre(cadre_id)
        context, guard = await committed_context(deps.repo, deps.engine, subject, cadre)
        events = pairings.decide_pair(
            subject, cadre, context, on=on or deps.today(), overrides=overrides, operator=meta.actor
        )
        return await deps.repo.append_subject(subject, events, meta, guard)

    return await _retrying(attempt)


async def end_pairing(
    deps: PairingDeps, subject_id: str, reason: EndReason, note: str, meta: Metadata, on: date | None = None
) -> AppendResult:
    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(subject_id)
        today = deps.today()
        events = subjects.decide_end(subject, reason, on or today, today, note)
        return await deps.repo.append_subject(subject, events, meta)

    return await _retrying(attempt)


async def reassign(
    deps: PairingDeps,
    subject_id: str,
    to_cadre_id: str,
    overrides: Mapping[str, str],
    meta: Metadata,
    on: date | None = None,
) -> AppendResult:
    """Re-pairs within the unit once the unit confirmed the replacement (`CadreReassigned`)."""

    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(subject_id)
        cadre = await deps.repo.cadre(to_cadre_id)
        events, guard = await decide_reassignment(
            deps, subject, cadre, overrides, meta.actor, on or deps.today()
        )
        return await deps.repo.append_subject(subject, events, meta, guard)

    return await _retrying(attempt)


async def decide_reassignment(
    deps: PairingDeps,
    subject: subjects.SubjectState,
    cadre: cadres.CadreState,
    overrides: Mapping[str, str],
    operator: str,
    on: date,
) -> tuple[list[EventPayload], Guard | None]:
    """The reassignment's events and guard, or `Refused`; a proposal is checked the same way.

    Only the unit's own women count as available for a girl: the replacement comes from the
    unit the subject's pairing belonged to.
    """
    last = subject.pairings[-1] if subject.pairings else None
    context, guard = await committed_context(
        deps.repo, deps.engine, subject, cadre, replacing=True, unit_id=last.unit_id if last else None
    )
    reason = last.end_reason if last is not None and subject.current is None else None
    events = pairings.decide_reassign(
        subject,
        cadre,
        context,
        on=on,
        overrides=overrides,
        operator=operator,
        reason=reason or EndReason.reassigned,
    )
    return events, guard


async def pairing_context(
    deps: PairingDeps, subject: subjects.SubjectState, cadre: cadres.CadreState, *, replacing: bool = False
) -> PairingContext:
    """What the rules need besides the two people, as committed (see `services/pairing/basis.py`)."""
    context, _ = await committed_context(deps.repo, deps.engine, subject, cadre, replacing=replacing)
    return context


COMMAND_HANDLERS = {
    "RegisterSubject": register_subject,
    "ChangeSubjectDetails": change_subject_details,
    "ChangeSituation": change_situation,
    "DecideReview": decide_review,
    "RegisterCadre": register_cadre,
    "RetireCadre": retire_cadre,
    "TransferCadre": transfer_cadre,
    "ChangeCadreRank": change_cadre_rank,
    "PlaceCadre": place_cadre,
    "PairSubject": pair,
    "EndPairing": end_pairing,
    "ReassignSubject": reassign,
}
