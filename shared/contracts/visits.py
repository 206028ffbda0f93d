"""Events the visits service publishes: contacts and on-site visits logged by cadres."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.contracts.base import EventPayload, Personal
from shared.contracts.registry import CONTRACTS

register = CONTRACTS.register("visits")


class ContactMode(StrEnum):
    """联系交流 (remote) and 走访探视 (on site) modes of the work record."""

    phone = "phone"
    sms = "sms"
    wechat = "wechat"
    letter = "letter"
    home = "home"
    institution = "institution"
    other_site = "other_site"

    @property
    def on_site(self) -> bool:
        return self in (ContactMode.home, ContactMode.institution, ContactMode.other_site)


@register
class VisitLogged(EventPayload):
    """A cadre recorded one contact or visit with a subject."""

    visit_id: uuid.UUID
    pairing_id: uuid.UUID
    subject_id: str = Field(min_length=1, max_length=64)
    cadre_id: str = Field(min_length=1, max_length=64)
    mode: ContactMode
    happened_on: date
    record: Annotated[str, Personal("subject_id")] = Field(max_length=4000)
