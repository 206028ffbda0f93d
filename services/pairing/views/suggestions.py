"""Suggested pairings for a township or a unit, and accepting them in bulk.

The solver works on views of the people; this module gathers them (ids from the read models,
details from the sealed streams), runs it, and turns accepted suggestions into pairings one by
one, each checked again as any pairing is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.pairing import handlers
from services.pairing.adapters import registries
from services.pairing.adapters.tables import active_pairings, cadre_holdings, cadre_registry, subject_index
from services.pairing.domain import pairing as pairings
from services.pairing.domain.eligibility import check_eligibility
from services.pairing.domain.refusals import Refused
from services.pairing.domain.rules import CadreView, SubjectView
from services.pairing.domain.solver import Suggestions, Unplaced, suggest
from services.pairing.domain.subject import facts_of
from services.pairing.handlers import PairingDeps
from shared.contracts.people import Links


@dataclass(frozen=True)
class Scope:
    """Whose subjects to place: a township's, or those in the villages a unit is linked with."""

    township_code: str | None = None
    unit_id: str | None = None


def _links_reach(links: Links, township: str) -> bool:
    return (
        township in links.township_codes
        or any(v.startswith(township) for v in links.village_codes)
        or links.resident_township_code == township
    )


async def gather(
    deps: PairingDeps, scope: Scope
) -> tuple[list[SubjectView], list[CadreView], dict[str, str], dict[str, str]]:
    async with deps.engine.connect() as conn:
        cadre_rows = (
            await conn.execute(
                sa.select(cadre_registry.c.cadre_id, cadre_registry.c.unit_id, cadre_registry.c.links).where(
                    cadre_registry.c.available.is_(True)
                )
            )
        ).all()
        if scope.unit_id is not None:
            chosen = [r for r in cadre_rows if r.unit_id == scope.unit_id]
            villages = {v for r in chosen for v in Links.model_validate(r.links).village_codes}
            townships = {t for r in chosen for t in Links.model_validate(r.links).township_codes}
            where = sa.or_(
                subject_index.c.village_code.in_(villages), subject_index.c.township_code.in_(townships)
            )
        else:
            township = scope.township_code or ""
            chosen = [r for r in cadre_rows if _links_reach(Links.model_validate(r.links), township)]
            where = subject_index.c.township_code == township
        subject_ids = (
            (
                await conn.execute(
                    sa.select(subject_index.c.subject_id).where(
                        where,
                        subject_index.c.status == "active",
                        subject_index.c.subject_id.not_in(sa.select(active_pairings.c.subject_id)),
                    )
                )
            )
            .scalars()
            .all()
        )
        cadre_ids = [r.cadre_id for r in chosen]
        held = dict(
            (
                await conn.execute(
                    sa.select(cadre_holdings.c.cadre_id, cadre_holdings.c.household_id).where(
                        cadre_holdings.c.cadre_id.in_(cadre_ids)
                    )
                )
            ).all()
        )
    subjects = [pairings.subject_view(await deps.repo.subject(s)) for s in subject_ids]
    cadres = []
    for cadre_id in cadre_ids:
        state = await deps.repo.cadre(cadre_id)
        if state.registered and state.can_take_pairings:
            cadres.append(state.view())
    households = {s.household_id for s in subjects}
    async with deps.engine.connect() as conn:
        paired_households = dict(
            (
                await conn.execute(
                    sa.select(active_pairings.c.household_id, active_pairings.c.cadre_id).where(
                        active_pairings.c.household_id.in_(households)
                    )
                )
            ).all()
        )
    return subjects, cadres, held, paired_households


async def suggestions(deps: PairingDeps, scope: Scope) -> Suggestions:
    subjects, cadres, held, paired_households = await gather(deps, scope)
    # Someone no longer eligible (an orphan past 18, say) is not offered a cadre: their record
    # waits for its review, and the plan says why.
    eligible, ineligible = [], []
    for view in subjects:
        state = await deps.repo.subject(view.subject_id)
        assert state.details is not None
        reasons = check_eligibility(facts_of(state.details), deps.today(), view.subject_id)
        if reasons:
            ineligible.append(
                Unplaced(view.subject_id, tuple(r.message for r in reasons), tuple(r.code for r in reasons))
            )
        else:
            eligible.append(view)
    plan = suggest(eligible, cadres, held=held, paired_households=paired_households)
    return Suggestions(plan.placed, [*plan.unplaced, *ineligible])


async def proposal(deps: PairingDeps, subject_id: str) -> dict[str, Any] | None:
    """A replacement from the same unit for a subject on the reassignment queue (the unit confirms it).

    Every candidate is checked exactly as confirming it would be (`handlers.decide_reassignment`,
    on committed state), so a proposed cadre is one that confirming accepts without an override;
    the solver then picks the best of them.
    """
    state = await deps.repo.subject(subject_id)
    if state.details is None or state.waiting_unit is None:
        return None
    async with deps.engine.connect() as conn:
        cadre_ids = await registries.available_cadres(conn, state.waiting_unit)
    accepted, refusals = [], []
    for cadre_id in cadre_ids:
        cadre = await deps.repo.cadre(cadre_id)
        try:
            await handlers.decide_reassignment(deps, state, cadre, {}, "pairing:proposal", deps.today())
        except Refused as refused:
            refusals += [r.message for r in refused.refusals]
        else:
            accepted.append(cadre.view())
    plan = suggest([pairings.subject_view(state)], accepted)
    reasons = [reason for u in plan.unplaced for reason in u.reasons] if accepted else sorted(set(refusals))
    return {
        "subject_id": subject_id,
        "unit_id": state.waiting_unit,
        "waiting_since": state.waiting_since.isoformat() if state.waiting_since else None,
        "proposed": [{"cadre_id": s.cadre_id, "explanation": s.explanation} for s in plan.placed],
        "unplaced_reasons": reasons,
    }
