"""What the pairing service does, one function per command; the table at the end lists them.

Each handler takes `(deps, command, meta)`: it loads the streams it decides on, reads the
context the rules need from the registries (committed state through the `Registries` port,
never a read model), decides, and appends. A concurrent writer to the same stream makes the
append conflict, and a pairing's append is refused when its basis changed before it committed
(`services/pairing/domain/basis.py`); the command is then decided again on fresh state (at most
three times), so two operators racing end with one success and one clear refusal. Nothing here
speaks SQL: the SQL and in-memory registries (`services/pairing/adapters/`) run the same rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from services.pairing.adapters.repository import PairingRepository, subject_stream
from services.pairing.domain import cadre as cadres
from services.pairing.domain import pairing as pairings
from services.pairing.domain import subject as subjects
from services.pairing.domain.basis import Basis, context_of, looks_for_women, woman_available
from services.pairing.domain.commands import (
    ApplyDueChange,
    ChangeCadreRank,
    ChangeSituation,
    ChangeSubjectDetails,
    DecideReview,
    EndForDeparture,
    EndPairing,
    MarkAdult,
    PairSubject,
    PlaceCadre,
    ReassignSubject,
    RecheckPairing,
    RegisterCadre,
    RegisterSubject,
    RetireCadre,
    TransferCadre,
)
from services.pairing.domain.eligibility import ADULT_AGE, full_years
from services.pairing.domain.ports import Check, Registries, RegistryReader
from services.pairing.domain.refusals import Refused
from services.pairing.domain.rules import PairingContext, SubjectView, check_pairing
from shared.clock import Clock
from shared.contracts.base import EventPayload
from shared.contracts.pairing import EndReason, Situation
from shared.eventstore import AppendResult, ConcurrencyConflict, Metadata, StaleRead

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
C = TypeVar("C")
ATTEMPTS = 3


@dataclass(frozen=True)
class PairingDeps:
    """What the handlers need: the repository (streams and registries), the clock.

    `engine` is the service's database, for the read models `views/` query; no handler uses it.
    """

    repo: PairingRepository
    engine: AsyncEngine
    clock: Clock

    @property
    def registries(self) -> Registries:
        return self.repo.registries

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


async def register_subject(deps: PairingDeps, command: RegisterSubject, meta: Metadata) -> AppendResult:
    state = await deps.repo.subject(command.subject_id)
    events = subjects.decide_register(state, command, deps.today())
    return await deps.repo.append_subject(state, events, meta)


async def register_subjects(
    deps: PairingDeps, commands: Sequence[RegisterSubject], meta: Metadata
) -> list[AppendResult | Exception]:
    """Registers many subjects, each decided alone; a refused one fails alone (its exception).

    Their streams are read in one query and their appends start together, so the store commits
    them in a transaction or two and the key store makes their data keys in one statement.
    """
    states = await deps.repo.subjects([c.subject_id for c in commands])

    async def one(command: RegisterSubject) -> AppendResult:
        state = states[command.subject_id]
        events = subjects.decide_register(state, command, deps.today())
        return await deps.repo.append_subject(state, events, meta)

    return await _each(one, commands)


async def _each(work: Callable[[C], Awaitable[T]], commands: Sequence[C]) -> list[T | Exception]:
    """`work` for every command at once; each one's result, or the exception it raised."""
    outcomes = await asyncio.gather(*(work(c) for c in commands), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancelled, or the process is stopping: not a row's refusal
    return outcomes  # type: ignore[return-value]


async def change_subject_details(
    deps: PairingDeps, command: ChangeSubjectDetails, meta: Metadata
) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(command.subject_id)
        return await deps.repo.append_subject(state, subjects.decide_change_details(state, command), meta)

    return await _retrying(attempt)


async def change_situation(deps: PairingDeps, command: ChangeSituation, meta: Metadata) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(command.subject_id)
        events = subjects.decide_situation(state, command, deps.today())
        return await deps.repo.append_subject(state, events, meta)

    return await _retrying(attempt)


async def decide_review(deps: PairingDeps, command: DecideReview, meta: Metadata) -> AppendResult:
    async def attempt() -> AppendResult:
        state = await deps.repo.subject(command.subject_id)
        events = subjects.decide_review(state, command, deps.today())
        return await deps.repo.append_subject(state, events, meta)

    return await _retrying(attempt)


# --- cadres -----------------------------------------------------------------------------


async def register_cadre(deps: PairingDeps, command: RegisterCadre, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(command.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_register(state, command), meta)


async def register_cadres(
    deps: PairingDeps, commands: Sequence[RegisterCadre], meta: Metadata
) -> list[AppendResult | Exception]:
    """Registers many cadres as `register_subjects` registers subjects."""
    states = await deps.repo.cadres([c.cadre_id for c in commands])

    async def one(command: RegisterCadre) -> AppendResult:
        state = states[command.cadre_id]
        return await deps.repo.append_cadre(state, cadres.decide_register(state, command), meta)

    return await _each(one, commands)


async def retire_cadre(deps: PairingDeps, command: RetireCadre, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(command.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_retire(state, command, deps.today()), meta)


async def transfer_cadre(deps: PairingDeps, command: TransferCadre, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(command.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_transfer(state, command, deps.today()), meta)


async def change_cadre_rank(deps: PairingDeps, command: ChangeCadreRank, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(command.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_rank_change(state, command), meta)


async def place_cadre(deps: PairingDeps, command: PlaceCadre, meta: Metadata) -> AppendResult:
    state = await deps.repo.cadre(command.cadre_id)
    return await deps.repo.append_cadre(state, cadres.decide_place(state, command), meta)


# --- pairing ----------------------------------------------------------------------------


async def pair(deps: PairingDeps, command: PairSubject, meta: Metadata) -> AppendResult:
    """Pairs a subject with a cadre; refuses with every rule in the way."""

    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(command.subject_id)
        cadre = await deps.repo.cadre(command.cadre_id)
        context, check = await committed_context(deps, subject, cadre)
        events = pairings.decide_pair(
            subject, cadre, context, command, today=deps.today(), operator=meta.actor
        )
        return await deps.repo.append_subject(subject, events, meta, check)

    return await _retrying(attempt)


async def end_pairing(deps: PairingDeps, command: EndPairing, meta: Metadata) -> AppendResult:
    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(command.subject_id)
        events = subjects.decide_end(subject, command, deps.today())
        return await deps.repo.append_subject(subject, events, meta)

    return await _retrying(attempt)


async def reassign(deps: PairingDeps, command: ReassignSubject, meta: Metadata) -> AppendResult:
    """Re-pairs within the unit once the unit confirmed the replacement (`CadreReassigned`)."""

    async def attempt() -> AppendResult:
        subject = await deps.repo.subject(command.subject_id)
        cadre = await deps.repo.cadre(command.to_cadre_id)
        events, check = await _decide_reassignment(deps, subject, cadre, command, meta.actor)
        return await deps.repo.append_subject(subject, events, meta, check)

    return await _retrying(attempt)


async def decide_reassignment(
    deps: PairingDeps,
    subject: subjects.SubjectState,
    cadre: cadres.CadreState,
    overrides: Mapping[str, str],
    operator: str,
    on: date,
) -> tuple[list[EventPayload], Check | None]:
    """The reassignment's events and check, or `Refused`; a proposal is checked the same way.

    Only the unit's own women count as available for a girl: the replacement comes from the
    unit the subject's pairing belonged to.
    """
    command = ReassignSubject(
        subject_id=subject.subject_id, to_cadre_id=cadre.cadre_id, effective_on=on, overrides=dict(overrides)
    )
    return await _decide_reassignment(deps, subject, cadre, command, operator)


async def _decide_reassignment(
    deps: PairingDeps,
    subject: subjects.SubjectState,
    cadre: cadres.CadreState,
    command: ReassignSubject,
    operator: str,
) -> tuple[list[EventPayload], Check | None]:
    last = subject.pairings[-1] if subject.pairings else None
    context, check = await committed_context(
        deps, subject, cadre, replacing=True, unit_id=last.unit_id if last else None
    )
    reason = last.end_reason if last is not None and subject.current is None else None
    events = pairings.decide_reassign(
        subject,
        cadre,
        context,
        command,
        today=deps.today(),
        operator=operator,
        reason=reason or EndReason.reassigned,
    )
    return events, check


# --- the committed basis of a pairing ---------------------------------------------------


async def read_basis(
    registries: RegistryReader,
    subject: SubjectView,
    cadre: cadres.CadreState,
    unit_id: str | None,
) -> Basis:
    """Reads the basis; women are looked for in `unit_id` only, when given."""
    assert cadre.details is not None
    female_available = False
    if looks_for_women(subject, cadre.details.gender):
        women = await registries.free_women(excluding=cadre.cadre_id, unit_id=unit_id)
        female_available = woman_available(subject, women)
    return Basis(
        household=await registries.household(subject.household_id),
        subject_cadre_id=await registries.cadre_of(subject.subject_id),
        cadre_household_id=await registries.held_by(cadre.cadre_id),
        household_cadre_id=await registries.household_cadre(subject.household_id, subject.subject_id),
        female_cadre_available=female_available,
    )


async def committed_context(
    deps: PairingDeps,
    subject: subjects.SubjectState,
    cadre: cadres.CadreState,
    *,
    replacing: bool = False,
    unit_id: str | None = None,
) -> tuple[PairingContext, Check | None]:
    """The context the rules need, as committed, and the check that holds the append to it.

    `replacing`: the subject's own current pairing is the one being replaced, so it does not
    count against the new one. `unit_id`: only this unit's women count as available (a
    reassignment stays inside the unit).
    """
    if subject.details is None or cadre.details is None:
        return PairingContext(), None  # the decision refuses an unknown person on its own
    view = pairings.subject_view(subject)
    async with deps.registries.committed() as registries:
        basis = await read_basis(registries, view, cadre, unit_id)
    others = [m for m in basis.household if m != subject.subject_id]
    household = (view, *[pairings.subject_view(await deps.repo.subject(m)) for m in others])

    async def unchanged(registries: RegistryReader) -> None:
        stream = subject_stream(subject.subject_id)
        if await registries.cadre_version(cadre.cadre_id) != cadre.version:
            raise StaleRead(stream, subject.version, "the cadre's record")
        if await read_basis(registries, view, cadre, unit_id) != basis:
            raise StaleRead(
                stream, subject.version, "the household, the cadre's holding or the women available"
            )

    return context_of(basis, household, replacing=replacing), unchanged


async def pairing_context(
    deps: PairingDeps, subject: subjects.SubjectState, cadre: cadres.CadreState, *, replacing: bool = False
) -> PairingContext:
    """What the rules need besides the two people, as committed (see `domain/basis.py`)."""
    context, _ = await committed_context(deps, subject, cadre, replacing=replacing)
    return context


# --- asked by the service itself ---------------------------------------------------------


def eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + ADULT_AGE)
    except ValueError:  # born on 29 February: the birthday counts on 1 March
        return date(born.year + ADULT_AGE, 3, 1)


async def mark_adult(deps: PairingDeps, command: MarkAdult, meta: Metadata) -> AppendResult | None:
    """Records turned_18 on the 18th birthday of an active orphan; None when not due or already done."""

    async def attempt() -> AppendResult | None:
        state = await deps.repo.subject(command.subject_id)
        if state.details is None or state.exited or Situation.turned_18 in state.situation:
            return None
        born = state.details.birth_date
        if not isinstance(born, date) or full_years(born, deps.today()) < ADULT_AGE:
            return None  # an erased birth date cannot be judged
        change = ChangeSituation(
            subject_id=command.subject_id,
            situation=Situation.turned_18,
            effective_on=eighteenth_birthday(born),
        )
        events = subjects.decide_situation(state, change, deps.today())
        return await deps.repo.append_subject(state, events, meta)

    return await _retrying(attempt)


async def end_for_departure(
    deps: PairingDeps, command: EndForDeparture, meta: Metadata
) -> AppendResult | None:
    """Ends the pairing its cadre left; None when there is nothing left to end (run twice: once)."""

    async def attempt() -> AppendResult | None:
        state = await deps.repo.subject(command.subject_id)
        events = subjects.decide_cadre_left(state, command.cadre_id, command.reason, command.effective_on)
        return await deps.repo.append_subject(state, events, meta) if events else None

    return await _retrying(attempt)


async def recheck_pairing(deps: PairingDeps, command: RecheckPairing, meta: Metadata) -> AppendResult | None:
    """Opens a review when a rule now fails for the pairing; None when it still holds or is gone."""
    state = await deps.repo.subject(command.subject_id)
    cadre = await deps.repo.cadre(command.cadre_id)
    current = state.current
    if cadre.details is None or state.details is None or state.open_reviews:
        return None
    if current is None or current.cadre_id != command.cadre_id:
        return None
    context = await pairing_context(deps, state, cadre, replacing=True)
    failing = [r.code for r in check_pairing(pairings.subject_view(state), cadre.view(), context)]
    events = subjects.decide_recheck(state, command.cadre_id, failing)
    return await deps.repo.append_subject(state, events, meta) if events else None


async def apply_due_change(deps: PairingDeps, command: ApplyDueChange, meta: Metadata) -> AppendResult | None:
    """Appends the real event of a change dated ahead if it is still pending and due today."""
    today = deps.today()
    if command.stream == "cadre":
        cadre = await deps.repo.cadre(command.owner_id)
        events = cadres.decide_due(cadre, today)
        return await deps.repo.append_cadre(cadre, events, meta) if events else None
    subject = await deps.repo.subject(command.owner_id)
    events = subjects.decide_due_end(subject, today)
    return await deps.repo.append_subject(subject, events, meta) if events else None


async def accept_suggestions(
    deps: PairingDeps, pairs: list[tuple[str, str]], meta: Metadata
) -> list[dict[str, Any]]:
    """Pairs each (subject, cadre) in the order given, each checked as `pair` checks it; reports each."""
    results: list[dict[str, Any]] = []
    for subject_id, cadre_id in pairs:
        try:
            result = await pair(deps, PairSubject(subject_id=subject_id, cadre_id=cadre_id), meta)
        except Refused as refused:
            results.append(
                {
                    "subject_id": subject_id,
                    "cadre_id": cadre_id,
                    "accepted": False,
                    "refusals": [{"code": r.code, "message": r.message} for r in refused.refusals],
                }
            )
        else:
            results.append(
                {
                    "subject_id": subject_id,
                    "cadre_id": cadre_id,
                    "accepted": True,
                    "position": result.last_position,
                }
            )
    return results



COMMAND_HANDLERS: dict[str, Callable[[PairingDeps, Any, Metadata], Awaitable[AppendResult]]] = {
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
