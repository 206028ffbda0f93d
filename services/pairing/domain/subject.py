"""A subject's record: details, situation and every pairing it ever had (decide / evolve).

The subject's stream holds its whole pairing history, so "who was responsible for this person
on day D" is answered from one stream. `evolve` never fails; the `decide_*` functions return
the events a command produces or raise `Refused` with every rule it breaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from services.pairing.domain.commands import (
    ChangeSituation,
    ChangeSubjectDetails,
    DecideReview,
    EndPairing,
    RegisterSubject,
)
from services.pairing.domain.eligibility import EligibilityFacts, check_eligibility
from services.pairing.domain.refusals import Refusal, Refused
from services.pairing.domain.schedule import takes_effect_later
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadreReassigned,
    EndReason,
    PairingEnded,
    PairingEndScheduled,
    PairingReviewDecided,
    PairingReviewOpened,
    ReassignmentNeeded,
    ReviewDecision,
    Situation,
    SubjectDetails,
    SubjectDetailsChanged,
    SubjectExited,
    SubjectPaired,
    SubjectRegistered,
    SubjectSituationChanged,
)


@dataclass(frozen=True)
class PairingRecord:
    """One pairing of the subject: who, from when, until when and why it ended."""

    pairing_id: uuid.UUID
    cadre_id: str
    unit_id: str
    started_on: date
    ended_on: date | None = None
    end_reason: EndReason | None = None
    overridden: tuple[str, ...] = ()

    def covers(self, day: date) -> bool:
        """The cadre is responsible from the first day to the last one, both included.

        A cadre who retires on day D is still responsible on D (a visit that day counts);
        a replacement confirmed on D is responsible from D as well.
        """
        return self.started_on <= day and (self.ended_on is None or day <= self.ended_on)


@dataclass(frozen=True)
class Review:
    review_id: uuid.UUID
    pairing_id: uuid.UUID
    cause: str


@dataclass(frozen=True)
class SubjectState:
    """What the subject's stream says, folded."""

    subject_id: str
    version: int = 0
    details: SubjectDetails | None = None
    exited: bool = False
    deceased: bool = False
    pairings: tuple[PairingRecord, ...] = ()
    open_reviews: tuple[Review, ...] = ()
    waiting_since: date | None = None
    waiting_unit: str | None = None
    situation: tuple[Situation, ...] = field(default=())
    scheduled_end: PairingEndScheduled | None = None  # of the current pairing, dated ahead

    @property
    def registered(self) -> bool:
        return self.details is not None

    @property
    def current(self) -> PairingRecord | None:
        last = self.pairings[-1] if self.pairings else None
        return last if last is not None and last.ended_on is None else None

    def cadres_on(self, day: date) -> list[str]:
        """Every cadre responsible on `day`: two on the day one hands over to the other."""
        return [record.cadre_id for record in self.pairings if record.covers(day)]


def evolve(state: SubjectState, event: EventPayload) -> SubjectState:
    """Applies one event of the subject's stream; never fails."""
    state = replace(state, version=state.version + 1)
    match event:
        case SubjectRegistered() | SubjectDetailsChanged():
            return replace(state, details=event)
        case SubjectSituationChanged():
            details = state.details
            if event.new_residence is not None and details is not None:
                # A move changes where the subject actually lives, which decides who is responsible.
                details = details.model_copy(update={"residence": event.new_residence})
            return replace(
                state,
                details=details,
                situation=(*state.situation, event.situation),
                deceased=state.deceased or event.situation is Situation.died,
            )
        case SubjectExited():
            return replace(
                state, exited=True, waiting_since=None, waiting_unit=None, open_reviews=(), scheduled_end=None
            )
        case SubjectPaired():
            record = _started(event, event.cadre_id)
            return replace(state, pairings=(*state.pairings, record), waiting_since=None, waiting_unit=None)
        case PairingEndScheduled():
            return replace(state, scheduled_end=event)
        case PairingEnded():
            ended = _end(state.pairings, event.pairing_id, event.effective_on, event.reason)
            return replace(state, pairings=ended, scheduled_end=None)
        case CadreReassigned():
            pairings = _end(
                state.pairings, event.previous_pairing_id, event.effective_on, EndReason.reassigned
            )
            record = _started(event, event.to_cadre_id)
            return replace(
                state, pairings=(*pairings, record), waiting_since=None, waiting_unit=None, scheduled_end=None
            )
        case ReassignmentNeeded():
            return replace(state, waiting_since=event.since, waiting_unit=event.unit_id)
        case PairingReviewOpened():
            review = Review(event.review_id, event.pairing_id, event.cause)
            return replace(state, open_reviews=(*state.open_reviews, review))
        case PairingReviewDecided():
            reviews = tuple(r for r in state.open_reviews if r.review_id != event.review_id)
            return replace(state, open_reviews=reviews)
    return state


def _started(event: SubjectPaired | CadreReassigned, cadre_id: str) -> PairingRecord:
    """The record of a pairing that `event` starts with `cadre_id` (new, or by reassignment)."""
    return PairingRecord(
        event.pairing_id, cadre_id, event.unit_id, event.effective_on, overridden=event.overridden
    )


def _end(
    pairings: tuple[PairingRecord, ...], pairing_id: uuid.UUID, on: date, reason: EndReason
) -> tuple[PairingRecord, ...]:
    return tuple(
        replace(p, ended_on=on, end_reason=reason) if p.pairing_id == pairing_id and p.ended_on is None else p
        for p in pairings
    )


def facts_of(details: SubjectDetails) -> EligibilityFacts:
    return EligibilityFacts(
        category=details.category,
        birth_date=details.birth_date,
        orphan_type=details.orphan_type,
        parents_situation=details.parents_situation,
        care_setting=details.care_setting,
        disability_types=details.disability_types,
        disability_level=details.disability_level,
        disability_certificate=details.disability_certificate,
        dibao=details.dibao,
        tekun=details.tekun,
    )


def decide_register(state: SubjectState, command: RegisterSubject, today: date) -> list[EventPayload]:
    details = SubjectRegistered(**dict(command))
    if state.registered:
        raise Refused(
            [Refusal("subject_exists", "该关爱对象已登记，不能重复登记", subject_id=state.subject_id)]
        )
    refusals = check_eligibility(facts_of(details), today, state.subject_id)
    if refusals:
        raise Refused(refusals)
    return [details]


def decide_change_details(state: SubjectState, command: ChangeSubjectDetails) -> list[EventPayload]:
    """New details are recorded; a paired subject's pairing is put up for review."""
    _require_active(state)
    events: list[EventPayload] = [SubjectDetailsChanged(**dict(command))]
    current = state.current
    if current is not None and not state.open_reviews:
        events.append(
            PairingReviewOpened(
                review_id=uuid.uuid4(),
                pairing_id=current.pairing_id,
                subject_id=state.subject_id,
                cadre_id=current.cadre_id,
                cause="details_changed",
            )
        )
    return events


def decide_situation(state: SubjectState, command: ChangeSituation, today: date) -> list[EventPayload]:
    """Death ends the pairing at once and the subject exits; anything else opens a review."""
    _require_active(state)
    change = SubjectSituationChanged(**dict(command))
    events: list[EventPayload] = [change]
    current = state.current
    if change.situation is Situation.died and change.effective_on > today:
        raise Refused(
            [
                Refusal(
                    "death_in_future",
                    f"去世日期{change.effective_on.isoformat()}晚于今天（{today.isoformat()}）：请填写实际去世的日期",
                    subject_id=state.subject_id,
                )
            ]
        )
    if change.situation is Situation.died:
        if current is not None:
            events.append(
                PairingEnded(
                    pairing_id=current.pairing_id,
                    subject_id=state.subject_id,
                    cadre_id=current.cadre_id,
                    effective_on=change.effective_on,
                    reason=EndReason.subject_died,
                )
            )
        events.append(
            SubjectExited(
                subject_id=state.subject_id, reason=Situation.died, effective_on=change.effective_on
            )
        )
    elif current is not None:
        events.append(
            PairingReviewOpened(
                review_id=uuid.uuid4(),
                pairing_id=current.pairing_id,
                subject_id=state.subject_id,
                cadre_id=current.cadre_id,
                cause=change.situation.value,
            )
        )
    return events


def decide_review(state: SubjectState, command: DecideReview, today: date) -> list[EventPayload]:
    """Civil affairs (or the federation) and the cadre's unit end, keep or change the pairing."""
    review_id, decision, reason = command.review_id, command.decision, command.reason
    decided_by, unit_confirmed_by = command.decided_by, command.unit_confirmed_by
    review = next((r for r in state.open_reviews if r.review_id == review_id), None)
    if review is None:
        raise Refused([Refusal("review_not_open", "该复核不存在或已办结", subject_id=state.subject_id)])
    if not reason.strip() or not unit_confirmed_by.strip():
        raise Refused(
            [
                Refusal(
                    "review_reason_missing",
                    "复核须写明理由，并由结对干部所在单位确认",
                    subject_id=state.subject_id,
                )
            ]
        )
    events: list[EventPayload] = [
        PairingReviewDecided(
            review_id=review_id,
            pairing_id=review.pairing_id,
            subject_id=state.subject_id,
            decision=decision,
            reason=reason,
            decided_by=decided_by,
            unit_confirmed_by=unit_confirmed_by,
        )
    ]
    current = state.current
    if decision is ReviewDecision.keep or current is None or current.pairing_id != review.pairing_id:
        return events
    events.append(
        PairingEnded(
            pairing_id=current.pairing_id,
            subject_id=state.subject_id,
            cadre_id=current.cadre_id,
            effective_on=today,
            reason=EndReason.review_decision,
        )
    )
    if decision is ReviewDecision.end and state.details is not None:
        reasons = check_eligibility(facts_of(state.details), today, state.subject_id)
        if reasons:
            # No longer a 关爱对象 (turned 18, left 低保, entered an institution…): the record closes.
            cause = next((s for s in reversed(state.situation)), Situation.other)
            events.append(SubjectExited(subject_id=state.subject_id, reason=cause, effective_on=today))
        return events
    if decision is ReviewDecision.change:
        events.append(
            ReassignmentNeeded(
                subject_id=state.subject_id,
                previous_cadre_id=current.cadre_id,
                unit_id=current.unit_id,
                since=today,
                reason=EndReason.review_decision,
            )
        )
    return events


def decide_end(state: SubjectState, command: EndPairing, today: date) -> list[EventPayload]:
    """Ends the current pairing at once, or, dated after today, schedules the end for its day."""
    on = command.effective_on or today
    current = state.current
    if current is None:
        raise Refused([Refusal("not_paired", "该关爱对象当前没有结对干部", subject_id=state.subject_id)])
    ended = PairingEnded(
        pairing_id=current.pairing_id,
        subject_id=state.subject_id,
        cadre_id=current.cadre_id,
        effective_on=on,
        reason=command.reason,
        note=command.note,
    )
    if takes_effect_later(on, today, subject_id=state.subject_id):
        return [PairingEndScheduled(**ended.model_dump())]
    return [ended]


def decide_due_end(state: SubjectState, today: date) -> list[EventPayload]:
    """The end scheduled for today or earlier, as the real `PairingEnded`; nothing otherwise."""
    scheduled, current = state.scheduled_end, state.current
    if scheduled is None or scheduled.effective_on > today or current is None:
        return []
    if current.pairing_id != scheduled.pairing_id:
        return []  # that pairing already ended another way
    return [
        PairingEnded(
            pairing_id=scheduled.pairing_id,
            subject_id=state.subject_id,
            cadre_id=scheduled.cadre_id,
            effective_on=scheduled.effective_on,
            reason=scheduled.reason,
            note=scheduled.note or "",  # an erased note reads falsy, and stays gone
        )
    ]


def decide_cadre_left(state: SubjectState, cadre_id: str, reason: EndReason, on: date) -> list[EventPayload]:
    """The subject's cadre retired without continuing or left the area: end and queue for a new one.

    Idempotent: a subject whose current pairing is not with `cadre_id` produces nothing.
    """
    current = state.current
    if current is None or current.cadre_id != cadre_id or state.exited:
        return []
    return [
        PairingEnded(
            pairing_id=current.pairing_id,
            subject_id=state.subject_id,
            cadre_id=cadre_id,
            effective_on=on,
            reason=reason,
        ),
        ReassignmentNeeded(
            subject_id=state.subject_id,
            previous_cadre_id=cadre_id,
            unit_id=current.unit_id,
            since=on,
            reason=reason,
        ),
    ]


def decide_recheck(state: SubjectState, cadre_id: str, failing: Sequence[str]) -> list[EventPayload]:
    """The subject's cadre changed and `failing` rules (not overridden) now fail: a review opens.

    Nothing when the subject is no longer paired with `cadre_id`, already under review, or
    no rule fails.
    """
    current = state.current
    if current is None or current.cadre_id != cadre_id or state.open_reviews:
        return []
    standing = tuple(code for code in failing if code not in current.overridden)
    if not standing:
        return []
    return [
        PairingReviewOpened(
            review_id=uuid.uuid4(),
            pairing_id=current.pairing_id,
            subject_id=state.subject_id,
            cadre_id=cadre_id,
            cause="cadre_changed",
            failing_rules=standing,
        )
    ]


def _require_active(state: SubjectState) -> None:
    if not state.registered:
        raise Refused([Refusal("subject_unknown", "没有这名关爱对象", subject_id=state.subject_id)])
    if state.exited:
        raise Refused([Refusal("subject_exited", "该关爱对象已退出结对关爱", subject_id=state.subject_id)])
