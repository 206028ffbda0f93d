"""What the pairing service does, one function per command; the tables at the end list them.

Each command loads the streams it decides on, builds the context the rules need from the
registries and read models, decides, and appends. A concurrent writer to the same stream
makes the append conflict; the command is then decided again on fresh state (at most three
times), so two operators racing end with one success and one clear refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pairing.adapters.repository import PairingRepository
from services.pairing.adapters.tables import active_pairings, cadre_holdings, cadre_index, subject_index
from services.pairing.domain import cadre as cadres
from services.pairing.domain import pairing as pairings
from services.pairing.domain import subject as subjects
from services.pairing.domain.rules import CadreView, PairingContext, SubjectView, check_pairing
from shared.clock import Clock
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
from shared.contracts.people import CadreKind, Gender, Links, Rank, RankTier, RankTitle, SubjectCategory
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
        context = await pairing_context(deps, subject, cadre)
        events = pairings.decide_pair(
            subject, cadre, context, on=on or deps.today(), overrides=overrides, operator=meta.actor
        )
        return await deps.repo.append_subject(subject, events, meta)

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
        context = await pairing_context(deps, subject, cadre, replacing=True)
        reason = subject.pairings[-1].end_reason if subject.pairings and subject.current is None else None
        events = pairings.decide_reassign(
            subject,
            cadre,
            context,
            on=on or deps.today(),
            overrides=overrides,
            operator=meta.actor,
            reason=reason or EndReason.reassigned,
        )
        return await deps.repo.append_subject(subject, events, meta)

    return await _retrying(attempt)


async def pairing_context(
    deps: PairingDeps, subject: subjects.SubjectState, cadre: cadres.CadreState, *, replacing: bool = False
) -> PairingContext:
    """What the rules need besides the two people, read from registries and read models."""
    if subject.details is None or cadre.details is None:
        return PairingContext()
    household_id = subject.details.household_id
    async with deps.engine.connect() as conn:
        members = (
            (
                await conn.execute(
                    sa.select(subject_index.c.subject_id).where(
                        subject_index.c.household_id == household_id, subject_index.c.status == "active"
                    )
                )
            )
            .scalars()
            .all()
        )
        own = (
            await conn.execute(
                sa.select(active_pairings.c.cadre_id).where(
                    active_pairings.c.subject_id == subject.subject_id
                )
            )
        ).scalar_one_or_none()
        holding = (
            await conn.execute(
                sa.select(cadre_holdings.c.household_id).where(cadre_holdings.c.cadre_id == cadre.cadre_id)
            )
        ).scalar_one_or_none()
        household_cadre = (
            await conn.execute(
                sa.select(active_pairings.c.cadre_id)
                .where(
                    active_pairings.c.household_id == household_id,
                    active_pairings.c.subject_id != subject.subject_id,
                )
                .limit(1)
            )
        ).scalar_one_or_none()
    views = [pairings.subject_view(subject)]
    for member in members:
        if member != subject.subject_id:
            views.append(pairings.subject_view(await deps.repo.subject(member)))
    view = views[0]
    female_available = False
    if (
        view.category is SubjectCategory.orphan
        and view.gender is Gender.female
        and cadre.details.gender is Gender.male
    ):
        female_available = await female_cadre_available(deps, view, excluding=cadre.cadre_id)
    return PairingContext(
        household=tuple(views),
        subject_cadre_id=None if replacing else own,
        cadre_household_id=holding,
        household_cadre_id=household_cadre,
        female_cadre_available=female_available,
    )


async def female_cadre_available(deps: PairingDeps, girl: SubjectView, excluding: str) -> bool:
    """Whether an active, unpaired woman whom the rules allow for this girl's village exists."""
    async with deps.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(cadre_index).where(
                        cadre_index.c.gender == Gender.female.value,
                        cadre_index.c.status.in_(("active", "retired_continuing")),
                        cadre_index.c.cadre_id != excluding,
                        cadre_index.c.cadre_id.not_in(sa.select(cadre_holdings.c.cadre_id)),
                    )
                )
            )
            .mappings()
            .all()
        )
    for row in rows:
        candidate = CadreView(
            cadre_id=row["cadre_id"],
            name="",
            kind=CadreKind(row["kind"]),
            gender=Gender.female,
            birth_date=date(1900, 1, 1),  # not used for a woman: the age rule is for men
            rank=Rank(tier=RankTier(row["tier"]), title=RankTitle(row["title"])),
            party_member=row["party_member"],
            links=Links.model_validate(row["links"]),
        )
        if not check_pairing(girl, candidate, PairingContext()):
            return True
    return False


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
