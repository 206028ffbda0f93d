"""What the pairing service does on its own events: cadres who leave, ranks that change.

A reaction turns an event into commands of the service's own (`domain/commands.py`) and runs
them through the handlers, as a route does. Each handler decides from the subject's current
state, so running a reaction twice does nothing more.
"""

from __future__ import annotations

from services.pairing import handlers
from services.pairing.domain.commands import EndForDeparture, RecheckPairing
from services.pairing.handlers import PairingDeps
from shared.contracts.pairing import CadreRetired, CadreTransferred, EndReason
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
            command = EndForDeparture(
                subject_id=subject_id, cadre_id=event.cadre_id, reason=reason, effective_on=event.effective_on
            )
            # A conflict three times over raises: the reactor takes the page again, idempotently.
            await handlers.end_for_departure(deps, command, meta)

    return react


async def recheck(deps: PairingDeps, envelope: Envelope) -> None:
    """A change of post, rank or links keeps the pairing unless a rule now fails: then it is reviewed."""
    cadre_id = envelope.payload.cadre_id  # type: ignore[attr-defined]
    meta = Metadata(actor="pairing:review").caused_by(envelope)
    for subject_id in await _paired_subjects(deps, cadre_id):
        command = RecheckPairing(subject_id=subject_id, cadre_id=cadre_id)
        try:
            await handlers.recheck_pairing(deps, command, meta)
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
