"""A programme's pairing history as events, written straight to a store: for read-model tests and the bench.

Every event type the pairing read models follow appears, in an order the service could have
produced it: people registered, paired, corrected, moved, overridden, reviewed, cadres
promoted, placed, retired (their subjects queued and re-paired), transferred, changes dated
ahead and then made, subjects leaving. The history is a pure function of its size and seed.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadreDepartureScheduled,
    CadrePlaced,
    CadreRankChanged,
    CadreReassigned,
    CadreRegistered,
    CadreRetired,
    CadreTransferred,
    EndReason,
    PairingEnded,
    PairingEndScheduled,
    PairingReviewDecided,
    PairingReviewOpened,
    PlannedTransfer,
    ReassignmentNeeded,
    ReviewDecision,
    RuleOverridden,
    Situation,
    SubjectDetailsChanged,
    SubjectExited,
    SubjectPaired,
    SubjectRegistered,
    SubjectSituationChanged,
)
from shared.contracts.people import (
    CadreKind,
    CareSetting,
    Gender,
    Links,
    OrphanType,
    Place,
    Rank,
    RankTier,
    RankTitle,
)
from shared.eventstore import NO_STREAM, Metadata
from shared.eventstore.ports import EventStore
from tests.support.identity import resident_id

META = Metadata(actor="operator:history")
START = date(2026, 1, 5)

Phase = list[tuple[str, list[EventPayload]]]
"""Appends that may run at once: one per stream, each stream at most once."""


def _place(rng: random.Random) -> Place:
    township = f"622925{rng.randrange(100, 110)}"
    return Place(
        county_code="622925", township_code=township, village_code=f"{township}{rng.randrange(200, 230)}"
    )


def _subject(
    index: int, rng: random.Random, *, changed: bool = False
) -> SubjectRegistered | SubjectDetailsChanged:
    born = date(2010 + index % 8, 1 + index % 12, 1 + index % 28)
    cls = SubjectDetailsChanged if changed else SubjectRegistered
    return cls(
        subject_id=f"s-{index}",
        household_id=f"h-{index // 2}",
        name=f"马{index}",
        gender=Gender.male if index % 2 else Gender.female,
        birth_date=born,
        id_number=resident_id("622925", born, index % 2 == 0, index % 499),
        phone=f"139{index:08d}",
        residence=_place(rng),
        health="体弱" if changed else "",
        category="orphan",
        orphan_type=OrphanType.orphan,
        care_setting=CareSetting.scattered,
    )


def _cadre(index: int, rng: random.Random) -> CadreRegistered:
    return CadreRegistered(
        cadre_id=f"c-{index}",
        name=f"李{index}",
        gender=Gender.female if index % 3 == 0 else Gender.male,
        birth_date=date(1970 + index % 20, 1 + index % 12, 1 + index % 28),
        unit_id=f"u-{index % 40}",
        unit_name="县民政局",
        rank=Rank(tier=RankTier.township, title=RankTitle.principal),
        party_member=index % 2 == 0,
        kind=CadreKind.unit_leader,
        links=Links(township_codes=(_place(rng).township_code,)),
    )


@dataclass
class _Builder:
    rng: random.Random
    phases: list[Phase] = field(default_factory=list)
    day: date = START

    def phase(self, appends: Phase) -> None:
        if appends:
            self.phases.append(appends)
        self.day += timedelta(days=1)


def programme_history(subjects: int, seed: int = 7) -> list[Phase]:
    """About 3.4 events per subject (and a cadre for every 1.2 subjects), in phases to append in order."""
    rng = random.Random(seed)
    b = _Builder(rng)
    cadres = max(2, subjects * 5 // 6)
    b.phase([(f"subject-s-{i}", [_subject(i, rng)]) for i in range(subjects)])
    b.phase([(f"cadre-c-{i}", [_cadre(i, rng)]) for i in range(cadres)])
    pairing = {i: uuid.UUID(int=rng.getrandbits(128)) for i in range(subjects)}
    held = {i: i * cadres // subjects for i in range(subjects)}
    paired: Phase = []
    for i in range(subjects):
        events: list[EventPayload] = [
            SubjectPaired(
                pairing_id=pairing[i],
                subject_id=f"s-{i}",
                household_id=f"h-{i // 2}",
                cadre_id=f"c-{held[i]}",
                unit_id=f"u-{held[i] % 40}",
                effective_on=b.day,
            )
        ]
        if rng.random() < 0.1:
            events.append(
                RuleOverridden(
                    pairing_id=pairing[i],
                    subject_id=f"s-{i}",
                    cadre_id=f"c-{held[i]}",
                    rule="age_gap",
                    reason="家属同意",
                    operator="operator:history",
                )
            )
        paired.append((f"subject-s-{i}", events))
    b.phase(paired)
    b.phase(
        [(f"subject-s-{i}", [_subject(i, rng, changed=True)]) for i in range(subjects) if rng.random() < 0.3]
    )
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    SubjectSituationChanged(
                        subject_id=f"s-{i}",
                        situation=Situation.moved_residence,
                        effective_on=b.day,
                        new_residence=_place(rng),
                        note="搬到镇上",
                    )
                ],
            )
            for i in range(subjects)
            if rng.random() < 0.2
        ]
    )
    reviewed = [i for i in range(subjects) if rng.random() < 0.1]
    reviews = {i: uuid.UUID(int=rng.getrandbits(128)) for i in reviewed}
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    PairingReviewOpened(
                        review_id=reviews[i],
                        pairing_id=pairing[i],
                        subject_id=f"s-{i}",
                        cadre_id=f"c-{held[i]}",
                        cause="turned_18",
                    )
                ],
            )
            for i in reviewed
        ]
    )
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    PairingReviewDecided(
                        review_id=reviews[i],
                        pairing_id=pairing[i],
                        subject_id=f"s-{i}",
                        decision=ReviewDecision.keep,
                        reason="仍需关爱",
                        decided_by="operator:history",
                        unit_confirmed_by="u-1",
                    )
                ],
            )
            for i in reviewed[::2]
        ]
    )
    cadre_changes: Phase = []
    for c in range(cadres):
        roll = rng.random()
        if roll < 0.2:
            rank = Rank(tier=RankTier.county, title=RankTitle.deputy)
            cadre_changes.append(
                (
                    f"cadre-c-{c}",
                    [
                        CadreRankChanged(
                            cadre_id=f"c-{c}", effective_on=b.day, rank=rank, kind=CadreKind.unit_leader
                        )
                    ],
                )
            )
        elif roll < 0.3:
            links = Links(township_codes=(_place(rng).township_code,))
            cadre_changes.append(
                (f"cadre-c-{c}", [CadrePlaced(cadre_id=f"c-{c}", links=links, reason="驻村")])
            )
        elif roll < 0.35:
            departure = PlannedTransfer(unit_id="u-far", unit_name="市民政局", leaves_area=True)
            cadre_changes.append(
                (
                    f"cadre-c-{c}",
                    [
                        CadreDepartureScheduled(
                            cadre_id=f"c-{c}", effective_on=b.day + timedelta(days=30), departure=departure
                        )
                    ],
                )
            )
    b.phase(cadre_changes)
    ending = [i for i in range(subjects) if i not in reviews and rng.random() < 0.1]
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    PairingEndScheduled(
                        pairing_id=pairing[i],
                        subject_id=f"s-{i}",
                        cadre_id=f"c-{held[i]}",
                        effective_on=b.day + timedelta(days=10),
                        reason=EndReason.operator,
                    )
                ],
            )
            for i in ending
        ]
    )
    ended = ending[: len(ending) * 2 // 3]  # the others are still dated ahead
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    PairingEnded(
                        pairing_id=pairing[i],
                        subject_id=f"s-{i}",
                        cadre_id=f"c-{held[i]}",
                        effective_on=b.day,
                        reason=EndReason.operator,
                    )
                ],
            )
            for i in ended
        ]
    )
    retiring = sorted({held[i] for i in range(subjects) if i not in ending and rng.random() < 0.08})
    b.phase(
        [
            (f"cadre-c-{c}", [CadreRetired(cadre_id=f"c-{c}", effective_on=b.day, continues=False)])
            for c in retiring
        ]
    )
    orphaned = [i for i in range(subjects) if held[i] in set(retiring) and i not in ending]
    b.phase(
        [
            (
                f"subject-s-{i}",
                [
                    ReassignmentNeeded(
                        subject_id=f"s-{i}",
                        previous_cadre_id=f"c-{held[i]}",
                        unit_id=f"u-{held[i] % 40}",
                        since=b.day,
                        reason=EndReason.cadre_retired,
                    )
                ],
            )
            for i in orphaned
        ]
    )
    free = [c for c in range(cadres) if c not in set(retiring)]
    reassigned: Phase = []
    for n, i in enumerate(orphaned[: len(orphaned) * 3 // 4]):
        to = free[n % len(free)]
        new = uuid.UUID(int=rng.getrandbits(128))
        reassigned.append(
            (
                f"subject-s-{i}",
                [
                    CadreReassigned(
                        pairing_id=new,
                        previous_pairing_id=pairing[i],
                        subject_id=f"s-{i}",
                        household_id=f"h-{i // 2}",
                        from_cadre_id=f"c-{held[i]}",
                        to_cadre_id=f"c-{to}",
                        unit_id=f"u-{to % 40}",
                        effective_on=b.day,
                        reason=EndReason.cadre_retired,
                    )
                ],
            )
        )
        pairing[i], held[i] = new, to
    b.phase(reassigned)
    transferring = [c for c, events in cadre_changes if isinstance(events[0], CadreDepartureScheduled)]
    b.phase(
        [
            (
                stream,
                [
                    CadreTransferred(
                        cadre_id=stream.removeprefix("cadre-"),
                        effective_on=b.day,
                        unit_id="u-far",
                        unit_name="市民政局",
                        leaves_area=True,
                    )
                ],
            )
            for stream in transferring[::2]
        ]
    )
    b.phase(
        [
            (
                f"subject-s-{i}",
                [SubjectExited(subject_id=f"s-{i}", reason=Situation.died, effective_on=b.day)],
            )
            for i in range(subjects)
            if i not in set(ended) and rng.random() < 0.05
        ]
    )
    return b.phases


def event_count(phases: Sequence[Phase]) -> int:
    return sum(len(events) for phase in phases for _, events in phase)


async def append_history(store: EventStore, phases: Sequence[Phase], at_once: int = 64) -> int:
    """Appends the phases in order (up to `at_once` streams at a time within one); returns the events."""
    versions: dict[str, int] = {}

    async def append(stream_id: str, events: list[EventPayload]) -> None:
        result = await store.append(stream_id, versions.get(stream_id, NO_STREAM), events, META)
        versions[stream_id] = result.stream_version

    for phase in phases:
        for start in range(0, len(phase), at_once):
            await asyncio.gather(*(append(s, e) for s, e in phase[start : start + at_once]))
    return event_count(phases)
