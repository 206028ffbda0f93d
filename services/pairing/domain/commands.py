"""The commands of the pairing service: what an operator, a reaction or the calendar asks for.

A command is a frozen model, not an event: `decide_*` take a command and the state it concerns
and return the events that record what happened (or raise `Refused`). Each field list is
written once. The terms of a command (its fields besides the id it concerns) are the request
body of its route too (`services/pairing/entrypoints/schemas.py` derives from them), and an
event that records a command's fields unchanged is built from them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field

from shared.commands import Command
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

Id = Field(min_length=1, max_length=64)


# --- subjects ---------------------------------------------------------------------------


class SubjectTerms(Command):
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


class RegisterSubject(SubjectTerms):
    """Registers a subject; the ID number and phones are already checked and normalised."""

    household_id: str = Id
    subject_id: str = Id


class ChangeSubjectDetails(SubjectTerms):
    """Replaces a subject's details; the ID number and phones are already checked and normalised."""

    household_id: str = Id
    subject_id: str = Id


class SituationTerms(Command):
    situation: Situation
    effective_on: date
    new_residence: Place | None = None
    note: str = Field(default="", max_length=1000)


class ChangeSituation(SituationTerms):
    """Records a change in the subject's situation (death, turning 18, leaving the county…)."""

    subject_id: str = Id


class ReviewTerms(Command):
    decision: ReviewDecision
    reason: str = Field(min_length=1, max_length=1000)
    decided_by: str = Field(
        pattern="^(civil_affairs|disabled_persons_federation)$",
        description="民政局 (civil_affairs) or 残联 (disabled_persons_federation)",
    )
    unit_confirmed_by: str = Field(
        min_length=1, max_length=100, description="who confirmed for the cadre's unit"
    )


class DecideReview(ReviewTerms):
    """Ends, keeps or changes a pairing under review."""

    subject_id: str = Id
    review_id: uuid.UUID


# --- cadres -----------------------------------------------------------------------------


class CadreTerms(Command):
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


class RegisterCadre(CadreTerms):
    """Registers a cadre; the phone is already checked and normalised."""

    cadre_id: str = Id


class RetirementTerms(Command):
    effective_on: date
    continues: bool = Field(description="退休后仍愿意参与结对关爱")


class RetireCadre(RetirementTerms):
    """Retires a cadre on a day, today or ahead."""

    cadre_id: str = Id


class TransferTerms(Command):
    effective_on: date
    unit_id: str = Field(min_length=1, max_length=64)
    unit_name: str = Field(min_length=1, max_length=100)
    leaves_area: bool
    links: Links = Links()


class TransferCadre(TransferTerms):
    """Moves a cadre to another unit, or out of the area, on a day, today or ahead."""

    cadre_id: str = Id


class RankTerms(Command):
    effective_on: date
    rank: Rank
    post: str = Field(default="", max_length=100)
    kind: CadreKind


class ChangeCadreRank(RankTerms):
    """Records a cadre's new rank, post and kind."""

    cadre_id: str = Id


class PlacementTerms(Command):
    links: Links
    reason: str = Field(min_length=1, max_length=1000)


class PlaceCadre(PlacementTerms):
    """The county office links a cadre with townships or villages."""

    cadre_id: str = Id


# --- pairing ----------------------------------------------------------------------------


class PairSubject(Command):
    """Pairs a subject with a cadre, overriding in-principle rules with written reasons."""

    subject_id: str = Id
    cadre_id: str = Id
    effective_on: date | None = None
    overrides: dict[str, str] = Field(
        default_factory=dict, max_length=10, description="rule code → written reason"
    )


class EndTerms(Command):
    reason: EndReason = EndReason.operator
    note: str = Field(default="", max_length=1000)
    effective_on: date | None = None


class EndPairing(EndTerms):
    """Ends the subject's pairing, today or on a day ahead (None: today)."""

    subject_id: str = Id


class ReassignSubject(Command):
    """Re-pairs a subject with another cadre of the same unit, as the unit confirmed."""

    subject_id: str = Id
    to_cadre_id: str = Id
    effective_on: date | None = None
    overrides: dict[str, str] = Field(default_factory=dict, max_length=10)


# --- asked by the service itself: its reactions and its calendar ----------------------------


class EndForDeparture(Command):
    """Ends a subject's pairing because its cadre retired without continuing or left the area."""

    subject_id: str = Id
    cadre_id: str = Id
    reason: EndReason
    effective_on: date


class RecheckPairing(Command):
    """Checks a pairing against the rules again after its cadre's post, rank or links changed."""

    subject_id: str = Id
    cadre_id: str = Id


class MarkAdult(Command):
    """Records that an orphan turned 18, if they have and it is not recorded yet."""

    subject_id: str = Id


class ApplyDueChange(Command):
    """Makes a change dated ahead take effect on its day (a departure, or a pairing's end)."""

    stream: Literal["cadre", "subject"]
    owner_id: str = Id
