"""Deciding a work record: a contact or on-site visit logged by the cadre of a pairing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared.contracts.visits import ContactMode, VisitLogged


class VisitRejected(ValueError):
    """A work record that cannot be accepted, with a reason a cadre can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LogVisit:
    """Record one contact (phone, SMS, WeChat, letter) or visit (home, institution, elsewhere)."""

    visit_id: uuid.UUID
    pairing_id: uuid.UUID
    subject_id: str
    cadre_id: str
    mode: ContactMode
    happened_on: date
    record: str


def decide_log_visit(command: LogVisit, today: date) -> list[VisitLogged]:
    """Returns the event a valid record produces; raises `VisitRejected` otherwise."""
    if command.happened_on > today:
        raise VisitRejected(
            "visit_in_future",
            f"走访日期 {command.happened_on.isoformat()} 晚于今天 {today.isoformat()}：请填写实际发生的日期",
        )
    if not command.record.strip():
        raise VisitRejected("record_empty", "工作记录不能为空：请填写联系或走访的内容")
    return [
        VisitLogged(
            visit_id=command.visit_id,
            pairing_id=command.pairing_id,
            subject_id=command.subject_id,
            cadre_id=command.cadre_id,
            mode=command.mode,
            happened_on=command.happened_on,
            record=command.record.strip(),
        )
    ]
