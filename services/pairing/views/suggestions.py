"""Suggested pairings for a township or a unit, and a replacement proposed for a waiting subject.

The solver works on views of the people; this module gathers them (ids from the read models and
registries, details from the sealed streams, all of a scope's subjects in one read of the store
and all its cadres in another), checks who is still eligible, and runs it. `suggestions` is the
three stages in a row; the benchmark (`bench/suggesting.py`) times them one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
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
from services.pairing.domain.subject import SubjectState, facts_of
from services.pairing.handlers import PairingDeps


@dataclass(frozen=True)
class Scope:
    """Whose subjects to place: a township's, or those in the villages a unit is linked with."""

    township_code: str | None = None
    unit_id: str | None = None


@dataclass(frozen=True)
class Gathered:
    """What a plan is made from: the unpaired subjects' and the candidate cadres' committed
    state, the households the cadres hold, and the cadres already pairing the households."""

    subjects: list[SubjectState]
    cadres: list[CadreView]
    held: dict[str, str]
    paired_households: dict[str, str]


def _links_reach(links: Mapping[str, Any], township: str) -> bool:
    """`Links` as the registry stores it (JSON) reaches the township; read without building the
    model, for every cadre whose links mention the township's code."""
    return (
        township in links.get("township_codes", ())
        or any(v.startswith(township) for v in links.get("village_codes", ()))
        or links.get("resident_township_code") == township
    )


async def gather(deps: PairingDeps, scope: Scope) -> Gathered:
    """The scope's unpaired active subjects (from the index) and the available cadres linked with
    it (from the registry), each read from its stream: all subjects in one read of the store, all
    cadres in another."""
    async with deps.engine.connect() as conn:
        if scope.unit_id is not None:
            cadre_rows = (
                await conn.execute(
                    sa.select(cadre_registry.c.cadre_id, cadre_registry.c.links).where(
                        cadre_registry.c.available.is_(True), cadre_registry.c.unit_id == scope.unit_id
                    )
                )
            ).all()
            villages = {v for r in cadre_rows for v in r.links.get("village_codes", ())}
            townships = {t for r in cadre_rows for t in r.links.get("township_codes", ())}
            where = sa.or_(
                subject_index.c.village_code.in_(villages), subject_index.c.township_code.in_(townships)
            )
            cadre_ids = [r.cadre_id for r in cadre_rows]
        else:
            township = scope.township_code or ""
            # a cadre whose links reach the township has its code in their text (a township, a
            # village under it, a resident village's township): the database narrows, `_links_reach`
            # decides, and the county's other cadres are not sent and parsed for every township
            cadre_rows = (
                await conn.execute(
                    sa.select(cadre_registry.c.cadre_id, cadre_registry.c.links).where(
                        cadre_registry.c.available.is_(True),
                        sa.cast(cadre_registry.c.links, sa.Text).contains(township, autoescape=True),
                    )
                )
            ).all()
            cadre_ids = [r.cadre_id for r in cadre_rows if _links_reach(r.links, township)]
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
        held = dict(
            (
                await conn.execute(
                    sa.select(cadre_holdings.c.cadre_id, cadre_holdings.c.household_id).where(
                        cadre_holdings.c.cadre_id.in_(cadre_ids)
                    )
                )
            ).all()
        )
    # two reads on two connections: one waits on the database while the other is unsealed
    subject_states, cadre_states = await asyncio.gather(
        deps.repo.subjects(subject_ids), deps.repo.cadres(cadre_ids)
    )
    subjects = [subject_states[s] for s in subject_ids if subject_states[s].details is not None]
    cadres = [
        state.view()
        for state in (cadre_states[c] for c in cadre_ids)
        if state.registered and state.can_take_pairings
    ]
    households = {s.details.household_id for s in subjects if s.details is not None}
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
    return Gathered(subjects, cadres, held, paired_households)


def eligibility(subjects: Sequence[SubjectState], today: date) -> tuple[list[SubjectView], list[Unplaced]]:
    """The subjects still eligible, as the solver's views, and why each of the others is not.

    Someone no longer eligible (an orphan past 18, say) is not offered a cadre: their record
    waits for its review, and the plan says why.
    """
    eligible, ineligible = [], []
    for state in subjects:
        assert state.details is not None
        reasons = check_eligibility(facts_of(state.details), today, state.subject_id)
        if reasons:
            ineligible.append(
                Unplaced(state.subject_id, tuple(r.message for r in reasons), tuple(r.code for r in reasons))
            )
        else:
            eligible.append(pairings.subject_view(state))
    return eligible, ineligible


def plan(gathered: Gathered, today: date) -> Suggestions:
    """The solver's plan for the gathered people, with the ineligible ones among the unplaced."""
    eligible, ineligible = eligibility(gathered.subjects, today)
    solved = suggest(
        eligible, gathered.cadres, held=gathered.held, paired_households=gathered.paired_households
    )
    return Suggestions(solved.placed, [*solved.unplaced, *ineligible])


async def suggestions(deps: PairingDeps, scope: Scope) -> Suggestions:
    return plan(await gather(deps, scope), deps.today())


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
