"""Deciding a work record: a contact or on-site visit logged by the cadre of a pairing."""

from __future__ import annotations

from datetime import date

from services.visits.domain.commands import LogVisit
from shared.contracts.visits import VisitLogged


class VisitRejected(ValueError):
    """A work record that cannot be accepted, with a reason a cadre can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decide_log_visit(command: LogVisit, today: date) -> list[VisitLogged]:
    """Returns the event a valid record produces; raises `VisitRejected` otherwise."""
    if command.happened_on > today:
        raise VisitRejected(
            "visit_in_future",
            f"走访日期 {command.happened_on.isoformat()} 晚于今天 {today.isoformat()}：请填写实际发生的日期",
        )
    if not command.record.strip():
        raise VisitRejected("record_empty", "工作记录不能为空：请填写联系或走访的内容")
    return [VisitLogged(**{**command.model_dump(), "record": command.record.strip()})]
