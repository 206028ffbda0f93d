"""The visits domain decides a work record."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.visits.domain.commands import LogVisit
from services.visits.domain.visit import VisitRejected, decide_log_visit
from shared.contracts.visits import ContactMode


def command(**changes: object) -> LogVisit:
    values = dict(
        visit_id=uuid.uuid4(),
        pairing_id=uuid.uuid4(),
        subject_id="s",
        cadre_id="c",
        mode=ContactMode.home,
        happened_on=date(2026, 5, 17),
        record="  入户走访  ",
    )
    values.update(changes)
    return LogVisit(**values)  # type: ignore[arg-type]


def test_a_valid_record_becomes_one_visit_logged_event_with_trimmed_text() -> None:
    [event] = decide_log_visit(command(), today=date(2026, 5, 17))
    assert event.record == "入户走访"
    assert event.mode.on_site


def test_a_record_dated_in_the_future_is_rejected_in_chinese() -> None:
    with pytest.raises(VisitRejected) as caught:
        decide_log_visit(command(happened_on=date(2026, 5, 18)), today=date(2026, 5, 17))
    assert caught.value.code == "visit_in_future"
    assert "晚于今天" in str(caught.value)


def test_a_blank_record_is_rejected() -> None:
    with pytest.raises(VisitRejected, match="工作记录不能为空"):
        decide_log_visit(command(record="   "), today=date(2026, 5, 17))


@pytest.mark.parametrize(
    "mode,on_site",
    [
        ("phone", False),
        ("sms", False),
        ("wechat", False),
        ("letter", False),
        ("home", True),
        ("institution", True),
        ("other_site", True),
    ],
)
def test_remote_modes_are_contacts_and_site_modes_are_visits(mode: str, on_site: bool) -> None:
    assert ContactMode(mode).on_site is on_site
