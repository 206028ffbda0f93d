"""The commands of the visits service: what a cadre asks it to record.

Each field list is written once: the route's request body derives from the command
(`services/visits/entrypoints/api.py`), and `VisitLogged` is built from the command's fields.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import Field

from shared.commands import Command
from shared.contracts.visits import ContactMode


class LogVisit(Command):
    """Record one contact (phone, SMS, WeChat, letter) or visit (home, institution, elsewhere)."""

    visit_id: uuid.UUID = Field(description="chosen by the client: logging it again is refused, not doubled")
    pairing_id: uuid.UUID
    subject_id: str = Field(min_length=1, max_length=64)
    cadre_id: str = Field(min_length=1, max_length=64)
    mode: ContactMode
    happened_on: date
    record: str = Field(min_length=1, max_length=4000, description="what was done and found (工作记录)")
