"""What the pairing service does on its own events: cadres who leave, ranks that change.

Each reaction decides from the subject's current state, so running it twice does nothing more.
"""

from __future__ import annotations

from services.pairing.domain import pairing as pairings
from services.pairing.domain import subject as subjects
from services.pairing.domain.rules import check_pairing
from services.pairing.handlers import PairingDeps, pairing_context
from shared.contracts.pairing import (
    CadreRetired,
    CadreTransferred,
    EndReason,
)
from shared.eventstore import ConcurrencyConflict, Envelope, Metadata
from shared.messaging.reactor import Reaction


async def _paired_subjects(deps: PairingDeps, cadre_id: str) -> list[str]:
    async with deps.registries.committed() as registries:
        return await registries.paired_subjects(cadre_id)


def cadre_left(deps: PairingDeps) -> Reaction:
    """A cadre retired without continuing or left the area: each subject ends and waits for a new one."""

    async def react(envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, CadreRetired):
            if event.continues:
                return  # keeps the pairing, managed by the old unit
            reason = EndReason.cadre_retired
        elif isinstance(event, CadreTransferred):
            if not event.leaves_area:
                await recheck(deps, envelope)
                return
            reason = EndReason.cadre_transferred
        else:
            return
        meta = Metadata(actor="pairing:reassignment").caused_by(envelope)
        for subject_id in await _paired_subjects(deps, event.cadre_id):
            for attempt in range(3):
                state = await deps.repo.subject(subject_id)
                events = subjects.decide_cadre_left(state, event.cadre_id, reason, event.effective_on)
                if not events:
                    break
                try:
                    await deps.repo.append_subject(state, events, meta)
                    break
                except ConcurrencyConflict:
                    if attempt == 2:
                        raise  # the reactor handles the page again; the decision is idempotent

    return react


async def recheck(deps: PairingDeps, envelope: Envelope) -> None:
    """A change of post, rank or links keeps the pairing unless a rule now fails: then it is reviewed."""
    cadre_id = envelope.payload.cadre_id  # type: ignore[attr-defined]
    cadre = await deps.repo.cadre(cadre_id)
    if cadre.details is None:
        return
    meta = Metadata(actor="pairing:review").caused_by(envelope)
    for subject_id in await _paired_subjects(deps, cadre_id):
        state = await deps.repo.subject(subject_id)
        current = state.current
        if current is None or current.cadre_id != cadre_id or state.open_reviews or state.details is None:
            continue
        context = await pairing_context(deps, state, cadre, replacing=True)
        failing = [r.code for r in check_pairing(pairings.subject_view(state), cadre.view(), context)]
        events = subjects.decide_recheck(state, cadre_id, failing)
        if events:
            try:
                await deps.repo.append_subject(state, events, meta)
            except ConcurrencyConflict:
                continue  # changed meanwhile; the next change of this cadre checks again


def reactions(deps: PairingDeps) -> dict[str, Reaction]:
    left = cadre_left(deps)

    async def rechecked(envelope: Envelope) -> None:
        await recheck(deps, envelope)

    return {
        "CadreRetired": left,
        "CadreTransferred": left,
        "CadreRankChanged": rechecked,
        "CadrePlaced": rechecked,
    }
