"""Pairing a subject with a cadre, and re-pairing within the unit (decide only).

Hard rules always refuse. An in-principle rule refuses unless the operator overrides it with
a written reason, which is recorded as `RuleOverridden` next to the pairing for audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from services.pairing.domain.cadre import CadreState
from services.pairing.domain.commands import PairSubject, ReassignSubject
from services.pairing.domain.eligibility import check_eligibility
from services.pairing.domain.refusals import Refusal, Refused
from services.pairing.domain.rules import PairingContext, SubjectView, check_pairing
from services.pairing.domain.subject import SubjectState, facts_of
from shared.contracts.base import EventPayload
from shared.contracts.pairing import CadreReassigned, EndReason, RuleOverridden, SubjectPaired


def subject_view(state: SubjectState) -> SubjectView:
    d = state.details
    assert d is not None, "subject_view() of an unregistered subject"
    return SubjectView(
        subject_id=state.subject_id,
        household_id=d.household_id,
        name=d.name,
        category=d.category,
        gender=d.gender,
        birth_date=d.birth_date,
        residence=d.residence,
        registered=d.registered_place,
    )


def _checked(
    subject: SubjectState, cadre: CadreState, context: PairingContext, overrides: Mapping[str, str], on: date
) -> tuple[str, ...]:
    """Returns the overridden rule codes, or raises `Refused` with everything that stands in the way."""
    if not subject.registered:
        raise Refused([Refusal("subject_unknown", "没有这名关爱对象", subject_id=subject.subject_id)])
    if not cadre.registered:
        raise Refused([Refusal("cadre_unknown", "没有这名干部", cadre_id=cadre.cadre_id)])
    if subject.exited:
        raise Refused([Refusal("subject_exited", "该关爱对象已退出结对关爱", subject_id=subject.subject_id)])
    assert subject.details is not None
    refusals = check_eligibility(facts_of(subject.details), on, subject.subject_id)
    refusals += check_pairing(subject_view(subject), cadre.view(), context)
    standing = [r for r in refusals if not r.overridable or r.code not in overrides]
    for code, reason in overrides.items():
        if not reason.strip():
            standing.append(
                Refusal("override_reason_missing", f"放宽“{code}”须写明理由", subject_id=subject.subject_id)
            )
        elif code not in {r.code for r in refusals if r.overridable}:
            standing.append(
                Refusal(
                    "override_not_applicable",
                    f"“{code}”不是本次结对需要放宽的原则性要求",
                    subject_id=subject.subject_id,
                )
            )
    if standing:
        raise Refused(standing)
    return tuple(sorted(overrides))


def decide_pair(
    subject: SubjectState,
    cadre: CadreState,
    context: PairingContext,
    command: PairSubject,
    *,
    today: date,
    operator: str,
) -> list[EventPayload]:
    """Pairs the subject with the cadre, with the overrides the operator justified."""
    on, overrides = command.effective_on or today, command.overrides
    overridden = _checked(subject, cadre, context, overrides, on)
    assert subject.details is not None and cadre.details is not None
    pairing_id = uuid.uuid4()
    events: list[EventPayload] = [
        SubjectPaired(
            pairing_id=pairing_id,
            subject_id=subject.subject_id,
            household_id=subject.details.household_id,
            cadre_id=cadre.cadre_id,
            unit_id=cadre.details.unit_id,
            effective_on=on,
            overridden=overridden,
        )
    ]
    events += [
        RuleOverridden(
            pairing_id=pairing_id,
            subject_id=subject.subject_id,
            cadre_id=cadre.cadre_id,
            rule=code,
            reason=overrides[code],
            operator=operator,
        )
        for code in overridden
    ]
    return events


def decide_reassign(
    subject: SubjectState,
    to_cadre: CadreState,
    context: PairingContext,
    command: ReassignSubject,
    *,
    today: date,
    operator: str,
    reason: EndReason,
) -> list[EventPayload]:
    """Re-pairs the subject with another cadre of the same unit, as the unit confirmed."""
    on, overrides = command.effective_on or today, command.overrides
    previous = subject.current or (subject.pairings[-1] if subject.pairings else None)
    if previous is None:
        raise Refused(
            [Refusal("never_paired", "该关爱对象从未结对，请直接结对", subject_id=subject.subject_id)]
        )
    assert to_cadre.details is not None or not to_cadre.registered
    if to_cadre.registered and to_cadre.details is not None and to_cadre.details.unit_id != previous.unit_id:
        raise Refused(
            [
                Refusal(
                    "reassign_other_unit",
                    "动态调整在原单位内部进行：请选择同一单位的干部，或通过结对另行安排",
                    subject_id=subject.subject_id,
                    cadre_id=to_cadre.cadre_id,
                )
            ]
        )
    if previous.cadre_id == to_cadre.cadre_id:
        raise Refused([Refusal("same_cadre", "新结对干部与原结对干部相同", subject_id=subject.subject_id)])
    # The subject's own current pairing is the one being replaced: it does not count against it.
    overridden = _checked(subject, to_cadre, context, overrides, on)
    assert subject.details is not None
    pairing_id = uuid.uuid4()
    events: list[EventPayload] = [
        CadreReassigned(
            pairing_id=pairing_id,
            previous_pairing_id=previous.pairing_id,
            subject_id=subject.subject_id,
            household_id=subject.details.household_id,
            from_cadre_id=previous.cadre_id,
            to_cadre_id=to_cadre.cadre_id,
            unit_id=previous.unit_id,
            effective_on=on,
            reason=reason,
            overridden=overridden,
        )
    ]
    events += [
        RuleOverridden(
            pairing_id=pairing_id,
            subject_id=subject.subject_id,
            cadre_id=to_cadre.cadre_id,
            rule=code,
            reason=overrides[code],
            operator=operator,
        )
        for code in overridden
    ]
    return events
