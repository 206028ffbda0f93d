"""Request and response bodies of the pairing API (FastAPI validates them at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.pairing import EndReason, ReviewDecision, Situation
from shared.contracts.people import (
    Address,
    CadreKind,
    CareSetting,
    Dibao,
    DisabilityType,
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
from shared.web.bodies import RequestBody

Id = Field(min_length=1, max_length=64)


class Body(RequestBody):
    """A pairing request body: bounded and checked as every carepair request body is."""


class SubjectFields(Body):
    """The contact card's subject fields (annex 2) and the facts that decide benefits."""

    household_id: str | None = Field(None, max_length=64, description="shared by subjects of one household")
    name: str = Field(min_length=1, max_length=40)
    gender: Gender
    ethnicity: str = Field(default="", max_length=20)
    birth_date: date
    id_number: str = Field(min_length=15, max_length=20)
    phone: str = Field(default="", max_length=20)
    registered_address: Address = Address()
    residence_address: Address = Address()
    registered_place: Place = Place()
    residence: Place
    health: str = Field(default="", max_length=200)
    disability_types: tuple[DisabilityType, ...] = ()
    disability_level: int | None = Field(None, ge=1, le=4)
    disability_certificate: str = Field(default="", max_length=30)
    category: SubjectCategory
    orphan_type: OrphanType | None = None
    parents_situation: tuple[ParentSituation, ...] = ()
    care_setting: CareSetting | None = None
    dibao: Dibao | None = None
    tekun: Tekun | None = None
    self_care: SelfCare | None = None
    incapacitated: bool = False
    school_stage: SchoolStage | None = None
    guardian: Guardian | None = None


class SubjectCreate(SubjectFields):
    subject_id: str | None = Field(None, max_length=64, description="client-chosen id makes retries safe")


class SituationChange(Body):
    situation: Situation
    effective_on: date
    new_residence: Place | None = None
    note: str = Field(default="", max_length=1000)


class ReviewDecisionCreate(Body):
    decision: ReviewDecision
    reason: str = Field(min_length=1, max_length=1000)
    decided_by: str = Field(
        pattern="^(civil_affairs|disabled_persons_federation)$",
        description="民政局 (civil_affairs) or 残联 (disabled_persons_federation)",
    )
    unit_confirmed_by: str = Field(
        min_length=1, max_length=100, description="who confirmed for the cadre's unit"
    )


class CadreFields(Body):
    name: str = Field(min_length=1, max_length=40)
    gender: Gender
    ethnicity: str = Field(default="", max_length=20)
    birth_date: date
    phone: str = Field(default="", max_length=20)
    unit_id: str = Field(min_length=1, max_length=64)
    unit_name: str = Field(min_length=1, max_length=100)
    post: str = Field(default="", max_length=100)
    rank: Rank
    party_member: bool
    kind: CadreKind
    links: Links = Links()


class CadreCreate(CadreFields):
    cadre_id: str | None = Field(None, max_length=64)


class Retirement(Body):
    effective_on: date
    continues: bool = Field(description="退休后仍愿意参与结对关爱")


class Transfer(Body):
    effective_on: date
    unit_id: str = Field(min_length=1, max_length=64)
    unit_name: str = Field(min_length=1, max_length=100)
    leaves_area: bool
    links: Links = Links()


class RankChange(Body):
    effective_on: date
    rank: Rank
    post: str = Field(default="", max_length=100)
    kind: CadreKind


class Placement(Body):
    links: Links
    reason: str = Field(min_length=1, max_length=1000)


class PairingCreate(Body):
    subject_id: str = Id
    cadre_id: str = Id
    effective_on: date | None = None
    overrides: dict[str, str] = Field(
        default_factory=dict, max_length=10, description="rule code → written reason"
    )


class PairingEnd(Body):
    reason: EndReason = EndReason.operator
    note: str = Field(default="", max_length=1000)
    effective_on: date | None = None


class ReassignmentCreate(Body):
    subject_id: str = Id
    to_cadre_id: str = Id
    effective_on: date | None = None
    overrides: dict[str, str] = Field(default_factory=dict, max_length=10)


class Accepted(BaseModel):
    """What a command answers: the id it concerns and the position token to read it back."""

    id: str
    position: str
    extra: dict[str, Any] = Field(default_factory=dict)


class SuggestionRequest(Body):
    """Place the unpaired subjects of one township, or of the villages one unit is linked with."""

    township_code: str | None = Field(None, max_length=12)
    unit_id: str | None = Field(None, max_length=64)


class SuggestedPair(Body):
    subject_id: str = Id
    cadre_id: str = Id


class SuggestionAcceptance(Body):
    pairs: list[SuggestedPair] = Field(min_length=1, max_length=2000)
