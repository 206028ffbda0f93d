"""Corrections and the calendar: a changed ID number, and an orphan past 18 in a plan."""

from __future__ import annotations

from datetime import date

import pytest

from services.pairing import handlers
from services.pairing.domain.commands import ChangeSubjectDetails, PairSubject, RetireCadre
from services.pairing.domain.refusals import Refused
from services.pairing.views.suggestions import Scope, suggestions
from shared.eventstore import Metadata
from tests.support.pairing_people import VILLAGE, orphan, unit_leader
from tests.support.pairing_world import World

META = Metadata(actor="operator:test")


def test_a_corrected_id_number_moves_the_duplicate_check_with_it() -> None:
    world = World()
    try:
        born = date(2015, 1, 1)
        world.run(handlers.register_subject(world.deps, orphan("s-1", born, 11), META))
        corrected = ChangeSubjectDetails(**dict(orphan("s-1", born, 13)))
        world.run(handlers.change_subject_details(world.deps, corrected, META))
        # The old number is free again; the new one is taken.
        world.run(handlers.register_subject(world.deps, orphan("s-2", born, 11), META))
        with pytest.raises(Refused) as caught:
            world.run(handlers.register_subject(world.deps, orphan("s-3", born, 13), META))
        assert caught.value.refusals[0].code == "subject_duplicate"
    finally:
        world.close()


def test_an_orphan_past_18_is_not_offered_a_cadre_and_the_plan_says_why() -> None:
    world = World()
    try:
        world.clock.set_today(date(2026, 1, 1))
        world.run(handlers.register_subject(world.deps, orphan("s-old", date(2008, 3, 10), 15), META))
        world.run(handlers.register_subject(world.deps, orphan("s-young", date(2015, 3, 10), 17), META))
        world.run(handlers.register_cadre(world.deps, unit_leader("c-1"), META))
        world.settle()
        world.clock.set_today(date(2026, 6, 1))
        plan = world.run(suggestions(world.deps, Scope(township_code=VILLAGE.township_code)))
        assert [p.subject_id for p in plan.placed] == ["s-young"]
        [unplaced] = plan.unplaced
        assert unplaced.subject_id == "s-old" and unplaced.codes == ("orphan_adult",)
    finally:
        world.close()


def test_a_pairing_decided_before_a_retirement_commits_after_it_is_refused() -> None:
    """The window a race opens, made deterministic: the decision saw an active cadre."""
    from services.pairing.domain import pairing as pairings
    from services.pairing.domain.rules import PairingContext

    world = World()
    try:
        world.run(handlers.register_subject(world.deps, orphan("s-1", date(2015, 1, 1), 21), META))
        world.run(handlers.register_cadre(world.deps, unit_leader("c-1"), META))
        world.settle()
        subject = world.run(world.deps.repo.subject("s-1"))
        stale_cadre = world.run(world.deps.repo.cadre("c-1"))
        events = pairings.decide_pair(
            subject,
            stale_cadre,
            PairingContext(),
            PairSubject(subject_id="s-1", cadre_id="c-1"),
            today=world.clock.today(),
            operator="operator:test",
        )
        world.run(
            handlers.retire_cadre(
                world.deps, RetireCadre(cadre_id="c-1", effective_on=date(2026, 6, 30), continues=False), META
            )
        )
        world.settle()  # the reactor runs now, before the pairing commits: nothing to end yet
        with pytest.raises(Refused) as caught:
            world.run(world.deps.repo.append_subject(subject, events, META))
        assert caught.value.refusals[0].code == "cadre_unavailable"
    finally:
        world.close()
