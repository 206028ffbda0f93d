"""Why the pairing service says no: a rule's code, its Chinese message, and who is involved."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Strength(StrEnum):
    """Hard rules cannot be overridden; rules the plan states 原则上 (in principle) can be,
    by an operator with a written reason."""

    hard = "hard"
    in_principle = "in_principle"


@dataclass(frozen=True)
class Refusal:
    """One rule that a request breaks."""

    code: str
    message: str
    strength: Strength = Strength.hard
    subject_id: str | None = None
    cadre_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def overridable(self) -> bool:
        return self.strength is Strength.in_principle


class Refused(Exception):
    """A command that breaks one or more rules; nothing was changed."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("；".join(r.message for r in refusals))
        self.refusals = refusals
