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
from services.pairing.domain.basis import (
    Basis,
    Registered,
    basis_of,
    context_of,
    looks_for_women,
    woman_available,
)
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
from shared.contracts.people import Gender
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
        registered = await _registered(registries, [(view, cadre)], unit_id)
    basis = basis_of(registered, view, cadre.cadre_id, cadre.details.gender)
    others = [m for m in basis.household if m != subject.subject_id]
    household = (view, *[pairings.subject_view(await deps.repo.subject(m)) for m in others])
    check = basis_check(view, subject.version, cadre, basis, unit_id)
    return context_of(basis, household, replacing=replacing), check


async def _registered(
    registries: RegistryReader,
    pairs: Sequence[tuple[SubjectView, cadres.CadreState]],
    unit_id: str | None = None,
    *,
    versions: bool = False,
) -> Registered:
    """The registries the bases of these (known) pairings name, read at once."""
    return await registries.read_many(
        [view.subject_id for view, _ in pairs],
        [view.household_id for view, _ in pairs],
        [cadre.cadre_id for _, cadre in pairs],
        women=any(_looks_for_women(view, cadre) for view, cadre in pairs),
        unit_id=unit_id,
        versions=versions,
    )


def _basis(registered: Registered, view: SubjectView, cadre: cadres.CadreState) -> Basis:
    assert cadre.details is not None
    return basis_of(registered, view, cadre.cadre_id, cadre.details.gender)


def _looks_for_women(view: SubjectView, cadre: cadres.CadreState) -> bool:
    assert cadre.details is not None
    return looks_for_women(view, cadre.details.gender)


def basis_check(
    view: SubjectView, version: int, cadre: cadres.CadreState, basis: Basis, unit_id: str | None
) -> Check:
    """Refuses the append (`StaleRead`) when the cadre's record or the basis is no longer as
    decided: read again inside the append's transaction, in one statement (two for a girl
    offered a man, whose women are read too)."""
    assert cadre.details is not None
    gender = cadre.details.gender

    async def unchanged(registries: RegistryReader) -> None:
        stream = subject_stream(view.subject_id)
        now = await _registered(registries, [(view, cadre)], unit_id, versions=True)
        if now.versions.get(cadre.cadre_id, 0) != cadre.version:
            raise StaleRead(stream, version, "the cadre's record")
        if basis_of(now, view, cadre.cadre_id, gender) != basis:
            raise StaleRead(stream, version, "the household, the cadre's holding or the women available")

    return unchanged


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
    """Pairs each (subject, cadre) as `pair` would, one after the other in the order given; reports each.

    The result is that of calling `pair` for each in turn, but the work goes in waves
    (`accepting_waves`): pairs that share no subject, cadre or household, and whose women do
    not matter to one another, are decided together and appended together, so the store commits
    them in one transaction, each append still with the check that refuses it if its basis
    changed. The streams of a batch are read at once, the registries of a wave in one reading.
    A pair whose check or stream moved is decided again alone, as `pair` does, before the next
    wave starts.
    """
    results: list[dict[str, Any] | None] = [None] * len(pairs)
    subject_states = await deps.repo.subjects(list(dict.fromkeys(s for s, _ in pairs)))
    cadre_states = await deps.repo.cadres(list(dict.fromkeys(c for _, c in pairs)))
    waves = accepting_waves(pairs, subject_states, cadre_states)
    appended: set[str] = set()  # subjects whose states loaded above are now behind
    for wave in waves:
        stale = [pairs[i][0] for i in wave if pairs[i][0] in appended]
        if stale:
            subject_states.update(await deps.repo.subjects(list(dict.fromkeys(stale))))
        again = await _accept_wave(
            deps, [(i, *pairs[i]) for i in wave], subject_states, cadre_states, meta, results
        )
        for index in again:  # its basis or stream moved: decided again alone, as `pair` does
            subject_id, cadre_id = pairs[index]
            try:
                result = await pair(deps, PairSubject(subject_id=subject_id, cadre_id=cadre_id), meta)
            except Refused as refused:
                results[index] = _refused(subject_id, cadre_id, refused)
            else:
                results[index] = _accepted(subject_id, cadre_id, result)
        appended.update(pairs[i][0] for i in wave)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def accepting_waves(
    pairs: Sequence[tuple[str, str]],
    subject_states: Mapping[str, subjects.SubjectState],
    cadre_states: Mapping[str, cadres.CadreState],
) -> list[list[int]]:
    """The pairs' indexes in waves: a pair comes after every earlier pair it depends on.

    Two pairs depend on one another when they share the subject, the cadre or the subject's
    household, or when one offers a girl orphan a man (whether a woman is free decides) and the
    other gives a woman a pairing (she is no longer free). Within a wave no pair's decision or
    check reads what another's append changes, so deciding a wave together gives what deciding
    its pairs one by one in the given order gives.
    """
    last: dict[str, int] = {}
    women_taken = women_asked = -1  # the last wave with a woman paired, with a man for a girl
    waves: list[list[int]] = []
    for index, (subject_id, cadre_id) in enumerate(pairs):
        subject, cadre = subject_states[subject_id], cadre_states[cadre_id]
        keys = [f"s:{subject_id}", f"c:{cadre_id}"]
        asks = takes = False
        if subject.details is not None:
            keys.append(f"h:{subject.details.household_id}")
        if cadre.details is not None:
            takes = cadre.details.gender is Gender.female
            asks = subject.details is not None and _looks_for_women(pairings.subject_view(subject), cadre)
        wave = max((last.get(k, -1) for k in keys), default=-1) + 1
        if asks:
            wave = max(wave, women_taken + 1)
        if takes:
            wave = max(wave, women_asked + 1)
        for key in keys:
            last[key] = wave
        if asks:
            women_asked = max(women_asked, wave)
        if takes:
            women_taken = max(women_taken, wave)
        if wave == len(waves):
            waves.append([])
        waves[wave].append(index)
    return waves


async def _accept_wave(
    deps: PairingDeps,
    wave: list[tuple[int, str, str]],
    subject_states: dict[str, subjects.SubjectState],
    cadre_states: Mapping[str, cadres.CadreState],
    meta: Metadata,
    results: list[dict[str, Any] | None],
) -> list[int]:
    """Decides a wave's pairs on one reading of the registries and appends them together.

    Fills `results` for the pairs decided here; returns the indexes to decide again alone.
    """
    known = [
        (index, pairings.subject_view(subject_states[s]), cadre_states[c])
        for index, s, c in wave
        if subject_states[s].details is not None and cadre_states[c].details is not None
    ]
    registered = Registered()
    if known:
        async with deps.registries.committed() as registries:
            registered = await _registered(registries, [(view, cadre) for _, view, cadre in known])
    bases = {index: _basis(registered, view, cadre) for index, view, cadre in known}
    members = {m for basis in bases.values() for m in basis.household}
    missing = [m for m in sorted(members) if m not in subject_states]
    if missing:
        subject_states.update(await deps.repo.subjects(missing))
    appends: list[tuple[int, str, str, Awaitable[AppendResult]]] = []
    for index, subject_id, cadre_id in wave:
        subject, cadre = subject_states[subject_id], cadre_states[cadre_id]
        context, check = PairingContext(), None
        basis = bases.get(index)
        if basis is not None:
            view = pairings.subject_view(subject)
            others = [pairings.subject_view(subject_states[m]) for m in basis.household if m != subject_id]
            context = context_of(basis, (view, *others))
            check = basis_check(view, subject.version, cadre, basis, None)
        command = PairSubject(subject_id=subject_id, cadre_id=cadre_id)
        try:
            events = pairings.decide_pair(
                subject, cadre, context, command, today=deps.today(), operator=meta.actor
            )
        except Refused as refused:
            results[index] = _refused(subject_id, cadre_id, refused)
            continue
        appends.append((index, subject_id, cadre_id, deps.repo.append_subject(subject, events, meta, check)))
    outcomes = await asyncio.gather(*(a for *_, a in appends), return_exceptions=True)
    again: list[int] = []
    failure: BaseException | None = None
    for (index, subject_id, cadre_id, _), outcome in zip(appends, outcomes, strict=True):
        if isinstance(outcome, AppendResult):
            results[index] = _accepted(subject_id, cadre_id, outcome)
        elif isinstance(outcome, Refused):
            results[index] = _refused(subject_id, cadre_id, outcome)
        elif isinstance(outcome, ConcurrencyConflict):
            again.append(index)
        else:
            failure = failure or outcome
    if failure is not None:
        raise failure
    return again


def _accepted(subject_id: str, cadre_id: str, result: AppendResult) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "cadre_id": cadre_id,
        "accepted": True,
        "position": result.last_position,
    }


def _refused(subject_id: str, cadre_id: str, refused: Refused) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "cadre_id": cadre_id,
        "accepted": False,
        "refusals": [{"code": r.code, "message": r.message} for r in refused.refusals],
    }


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
