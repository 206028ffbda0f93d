"""Events the pairing service publishes: subjects, cadres, pairings and their changes.

Personal fields are marked with their owner: a subject's (and their guardian's) data with
`subject_id`, a cadre's with `cadre_id`. Administrative codes, categories and dates that
decide rules and reports stay readable; names, ID numbers, phones, addresses, health and
disability details and free text do not.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.base import EventPayload, Personal
from shared.contracts.people import (
    Address,
    CadreKind,
    CareSetting,
    Dibao,
    DisabilityType,
    Frozen,
    Gender,
    Guardian,
    Links,
    OrphanType,
    ParentSituation,
    Place,
    Rank,
    SchoolStage,
    SelfCare,
    SubjectCategory,
    Tekun,
)
from shared.contracts.registry import CONTRACTS

register = CONTRACTS.register("pairing")

# Ids are never empty: an empty owner id could not key a person's data.
Id = Annotated[str, Field(min_length=1, max_length=64)]
SubjectText = Annotated[str, Personal("subject_id")]
CadreText = Annotated[str, Personal("cadre_id")]


class SubjectDetails(EventPayload):
    """Everything the contact card (annex 2) and the rules know about a subject."""

    subject_id: Id
    household_id: Id
    name: SubjectText = Field(max_length=40)
    gender: Gender
    ethnicity: SubjectText = Field(default="", max_length=20)
    birth_date: Annotated[date, Personal("subject_id")]
    id_number: SubjectText = Field(max_length=18)
    phone: SubjectText = Field(default="", max_length=20)
    registered_address: Annotated[Address, Personal("subject_id")] = Address()
    residence_address: Annotated[Address, Personal("subject_id")] = Address()
    registered_place: Place = Place()
    residence: Place = Place()
    health: SubjectText = Field(default="", max_length=200)
    disability_types: Annotated[tuple[DisabilityType, ...], Personal("subject_id")] = ()
    disability_level: Annotated[int | None, Personal("subject_id")] = Field(default=None, ge=1, le=4)
    disability_certificate: SubjectText = Field(default="", max_length=30)
    category: SubjectCategory
    orphan_type: OrphanType | None = None
    parents_situation: Annotated[tuple[ParentSituation, ...], Personal("subject_id")] = ()
    care_setting: CareSetting | None = None
    dibao: Dibao | None = None
    tekun: Tekun | None = None
    self_care: SelfCare | None = None
    incapacitated: Annotated[bool, Personal("subject_id")] = False
    school_stage: SchoolStage | None = None
    guardian: Guardian | None = None


@register
class SubjectRegistered(SubjectDetails):
    """A person was registered as a 关爱对象 after the eligibility check."""


@register
class SubjectDetailsChanged(SubjectDetails):
    """A subject's details were corrected or updated (the whole new set of details)."""


class Situation(StrEnum):
    """Changes of a subject's situation that re-open the pairing (seed 五.三)."""

    moved_residence = "moved_residence"  # 常住地变化
    turned_18 = "turned_18"  # 年满18周岁
    left_dibao = "left_dibao"  # 退出低保
    entered_institution = "entered_institution"  # 进入机构
    died = "died"  # 去世
    other = "other"


@register
class SubjectSituationChanged(EventPayload):
    """Something changed in the subject's life; death ends the pairing at once, the rest is reviewed."""

    subject_id: Id
    situation: Situation
    effective_on: date
    new_residence: Place | None = None
    note: SubjectText = Field(default="", max_length=1000)


@register
class SubjectExited(EventPayload):
    """The subject is no longer cared for by the programme."""

    subject_id: Id
    reason: Situation
    effective_on: date


class CadreDetails(EventPayload):
    """Everything the contact card and the rules know about a cadre."""

    cadre_id: Id
    name: CadreText = Field(max_length=40)
    gender: Gender
    ethnicity: CadreText = Field(default="", max_length=20)
    birth_date: Annotated[date, Personal("cadre_id")]
    phone: CadreText = Field(default="", max_length=20)
    unit_id: Id
    unit_name: str = Field(max_length=100)
    post: CadreText = Field(default="", max_length=100)
    rank: Rank
    party_member: bool
    kind: CadreKind
    links: Links = Links()


@register
class CadreRegistered(CadreDetails):
    """A cadre was registered for pairing."""


@register
class CadreRetired(EventPayload):
    """A cadre retired; one who continues keeps their pairing, managed by the old unit."""

    cadre_id: Id
    effective_on: date
    continues: bool


@register
class CadreTransferred(EventPayload):
    """A cadre moved to another unit; leaving the area ends their part in this county's pairings."""

    cadre_id: Id
    effective_on: date
    unit_id: Id
    unit_name: str
    leaves_area: bool
    links: Links = Links()


class PlannedRetirement(Frozen):
    """A retirement to come: what `CadreRetired` will say."""

    kind: Literal["retirement"] = "retirement"
    continues: bool


class PlannedTransfer(Frozen):
    """A transfer to come: what `CadreTransferred` will say."""

    kind: Literal["transfer"] = "transfer"
    unit_id: Id
    unit_name: str
    leaves_area: bool
    links: Links = Links()


@register
class CadreDepartureScheduled(EventPayload):
    """A retirement or transfer dated after the programme's today; until then nothing changes.

    On `effective_on` the daily round appends the `CadreRetired` or `CadreTransferred` it
    describes. A later departure of the cadre, scheduled or not, replaces it.
    """

    cadre_id: Id
    effective_on: date
    departure: Annotated[PlannedRetirement | PlannedTransfer, Field(discriminator="kind")]


@register
class CadreRankChanged(EventPayload):
    """A cadre's post or rank changed; the pairing stays unless a rule now fails."""

    cadre_id: Id
    effective_on: date
    rank: Rank
    post: CadreText = Field(default="", max_length=100)
    kind: CadreKind


@register
class CadrePlaced(EventPayload):
    """The county office placed a cadre whose unit has no linked village (an operator decision)."""

    cadre_id: Id
    links: Links
    reason: CadreText = Field(max_length=1000)


@register
class SubjectPaired(EventPayload):
    """A subject was paired with a cadre (结对)."""

    pairing_id: uuid.UUID
    subject_id: Id
    household_id: Id
    cadre_id: Id
    unit_id: Id
    effective_on: date
    overridden: tuple[str, ...] = ()


@register
class RuleOverridden(EventPayload):
    """An operator overrode an in-principle rule for a pairing, with a written reason (for audit)."""

    pairing_id: uuid.UUID
    subject_id: Id
    cadre_id: Id
    rule: str
    reason: SubjectText = Field(max_length=1000)
    operator: str


class EndReason(StrEnum):
    subject_exited = "subject_exited"
    subject_died = "subject_died"
    cadre_retired = "cadre_retired"
    cadre_transferred = "cadre_transferred"
    rule_failed = "rule_failed"
    review_decision = "review_decision"
    reassigned = "reassigned"
    operator = "operator"


class PairingEnding(EventPayload):
    """Which pairing ends, on which day and why: what an ending and a scheduled one both say."""

    pairing_id: uuid.UUID
    subject_id: Id
    cadre_id: Id
    effective_on: date
    reason: EndReason
    note: SubjectText = Field(default="", max_length=1000)


@register
class PairingEnded(PairingEnding):
    """A pairing ended; its history stays."""


@register
class PairingEndScheduled(PairingEnding):
    """An ending dated after the programme's today: the pairing goes on until `effective_on`.

    On that day the daily round appends the `PairingEnded` it describes, unless the pairing
    ended otherwise first. A later ending of the pairing, scheduled or not, replaces it.
    """


@register
class CadreReassigned(EventPayload):
    """A subject's pairing moved from one cadre to another of the same unit, as the unit confirmed."""

    pairing_id: uuid.UUID
    previous_pairing_id: uuid.UUID
    subject_id: Id
    household_id: Id
    from_cadre_id: Id
    to_cadre_id: Id
    unit_id: Id
    effective_on: date
    reason: EndReason
    overridden: tuple[str, ...] = ()


@register
class ReassignmentNeeded(EventPayload):
    """A subject lost their cadre and no one of the unit fits yet: they wait on the queue."""

    subject_id: Id
    previous_cadre_id: Id
    unit_id: Id
    since: date
    reason: EndReason


class ReviewDecision(StrEnum):
    end = "end"
    keep = "keep"
    change = "change"


@register
class PairingReviewOpened(EventPayload):
    """A change of situation or of rank asks civil affairs (or the federation) and the unit to decide."""

    review_id: uuid.UUID
    pairing_id: uuid.UUID
    subject_id: Id
    cadre_id: Id
    cause: str
    failing_rules: tuple[str, ...] = ()


@register
class PairingReviewDecided(EventPayload):
    """The review's decision: end, keep or change the pairing, with the reason."""

    review_id: uuid.UUID
    pairing_id: uuid.UUID
    subject_id: Id
    decision: ReviewDecision
    reason: SubjectText = Field(max_length=1000)
    decided_by: str
    unit_confirmed_by: str
