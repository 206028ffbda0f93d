"""Request and response bodies of the pairing API (FastAPI validates them at the edge).

A command's request body is its terms (`services/pairing/domain/commands.py`): the fields are
declared once, there, with their bounds; a body adds what every carepair request body checks.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.pairing.domain.commands import (
    CadreTerms,
    EndTerms,
    PairSubject,
    PlacementTerms,
    RankTerms,
    ReassignSubject,
    RetirementTerms,
    ReviewTerms,
    SituationTerms,
    SubjectTerms,
    TransferTerms,
)
from shared.web.batch import rows_field
from shared.web.bodies import RequestBody

Id = Field(min_length=1, max_length=64)


class Body(RequestBody):
    """A pairing request body: bounded and checked as every carepair request body is."""


class SubjectFields(Body, SubjectTerms):
    """The contact card's subject fields (annex 2) and the facts that decide benefits."""


class SubjectCreate(SubjectFields):
    subject_id: str | None = Field(None, max_length=64, description="client-chosen id makes retries safe")


class SubjectRows(Body):
    """Many subjects at once (an import): each row a `SubjectCreate`, checked and answered alone."""

    rows: list[dict[str, Any]] = rows_field("each row as the body of POST /subjects")


class SituationChange(Body, SituationTerms):
    pass


class ReviewDecisionCreate(Body, ReviewTerms):
    pass


class CadreFields(Body, CadreTerms):
    pass


class CadreCreate(CadreFields):
    cadre_id: str | None = Field(None, max_length=64)


class CadreRows(Body):
    """Many cadres at once (an import): each row a `CadreCreate`, checked and answered alone."""

    rows: list[dict[str, Any]] = rows_field("each row as the body of POST /cadres")


class Retirement(Body, RetirementTerms):
    pass


class Transfer(Body, TransferTerms):
    pass


class RankChange(Body, RankTerms):
    pass


class Placement(Body, PlacementTerms):
    pass


class PairingCreate(Body, PairSubject):
    pass


class PairingEnd(Body, EndTerms):
    pass


class ReassignmentCreate(Body, ReassignSubject):
    pass


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
