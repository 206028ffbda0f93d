"""The changes an append makes to the registries, as data, and the refusals they can end in.

Rules that span records (an ID number registered once, one cadre one household, one active
pairing per subject, no new pairing for a cadre who left) are kept by registries that every
append changes in its own transaction. What an append changes is computed here, once, from its
events (`changes_of`); each registry adapter (SQL, in memory) applies the same changes and
refuses with the same refusals, so a fake runs the same rules as the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from services.pairing.domain.refusals import Refusal, Refused
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadrePlaced,
    CadreRankChanged,
    CadreReassigned,
    CadreRegistered,
    CadreRetired,
    CadreTransferred,
    PairingEnded,
    SubjectDetailsChanged,
    SubjectExited,
    SubjectPaired,
    SubjectRegistered,
)
from shared.contracts.people import CadreKind, Gender, Links, Rank


@dataclass(frozen=True)
class ClaimIdNumber:
    """The subject's ID number (kept only as a keyed fingerprint) is theirs alone."""

    subject_id: str
    id_number: str
    message: str

    def refused(self) -> Refused:
        return Refused([Refusal("subject_duplicate", self.message)])


@dataclass(frozen=True)
class ReleaseIdNumber:
    """The subject's ID number is free again (a corrected number moves with the subject)."""

    subject_id: str


@dataclass(frozen=True)
class JoinHousehold:
    """A newly registered subject joins the household's members."""

    subject_id: str
    household_id: str


@dataclass(frozen=True)
class MoveHousehold:
    """A member of the households' registry now belongs to `household_id`."""

    subject_id: str
    household_id: str


@dataclass(frozen=True)
class LeaveHousehold:
    """The subject is no longer cared for: no longer a member of any household."""

    subject_id: str


@dataclass(frozen=True)
class ClaimCadre:
    """One unit registers a cadre of a name and birth date once."""

    cadre_id: str
    name: str
    birth_date: date
    unit_id: str

    def refused(self) -> Refused:
        return Refused([Refusal("cadre_duplicate", "同一单位已登记同名同出生日期的干部，不能重复登记")])


@dataclass(frozen=True)
class CadreEntry:
    """What the rules read of a cadre from the registry: no name, phone or birth date."""

    cadre_id: str
    unit_id: str
    kind: CadreKind
    gender: Gender
    rank: Rank
    party_member: bool
    links: Links
    available: bool = True


@dataclass(frozen=True)
class EnrolCadre:
    """A newly registered cadre, available for pairings."""

    entry: CadreEntry


@dataclass(frozen=True)
class ChangeCadre:
    """A registered cadre's facts change; a field left None stays as it is."""

    cadre_id: str
    unit_id: str | None = None
    kind: CadreKind | None = None
    rank: Rank | None = None
    links: Links | None = None
    available: bool | None = None


@dataclass(frozen=True)
class Hold:
    """The cadre now holds the subject: refused if the cadre is unavailable, holds another
    household, or the subject already has a cadre."""

    subject_id: str
    pairing_id: uuid.UUID
    cadre_id: str
    household_id: str
    unit_id: str
    started_on: date

    def unavailable(self) -> Refused:
        return Refused(
            [
                Refusal(
                    "cadre_unavailable",
                    "该干部已退休离岗或调离，不能新建结对",
                    cadre_id=self.cadre_id,
                    subject_id=self.subject_id,
                )
            ]
        )

    def other_household(self) -> Refused:
        return Refused(
            [
                Refusal(
                    "cadre_already_paired",
                    "该干部已结对其他家庭：一名干部只结对一名关爱对象或同一户",
                    cadre_id=self.cadre_id,
                    subject_id=self.subject_id,
                )
            ]
        )

    def already_paired(self) -> Refused:
        return Refused(
            [Refusal("subject_already_paired", "该关爱对象已有结对干部", subject_id=self.subject_id)]
        )


@dataclass(frozen=True)
class Release:
    """The subject's active pairing ends; its cadre holds the household one subject less."""

    subject_id: str


RegistryChange = (
    ClaimIdNumber
    | ReleaseIdNumber
    | JoinHousehold
    | MoveHousehold
    | LeaveHousehold
    | ClaimCadre
    | EnrolCadre
    | ChangeCadre
    | Hold
    | Release
)


def entry_of(cadre: CadreRegistered) -> CadreEntry:
    return CadreEntry(
        cadre_id=cadre.cadre_id,
        unit_id=cadre.unit_id,
        kind=cadre.kind,
        gender=cadre.gender,
        rank=cadre.rank,
        party_member=cadre.party_member,
        links=cadre.links,
    )


def _hold(event: SubjectPaired | CadreReassigned, cadre_id: str) -> Hold:
    return Hold(
        subject_id=event.subject_id,
        pairing_id=event.pairing_id,
        cadre_id=cadre_id,
        household_id=event.household_id,
        unit_id=event.unit_id,
        started_on=event.effective_on,
    )


def changes_of(events: Sequence[EventPayload]) -> list[RegistryChange]:
    """The registry changes that appending `events` makes, in order."""
    changes: list[RegistryChange] = []
    for event in events:
        match event:
            case SubjectRegistered():
                changes += [
                    ClaimIdNumber(
                        event.subject_id, event.id_number, "该身份证号已登记为关爱对象，不能重复登记"
                    ),
                    JoinHousehold(event.subject_id, event.household_id),
                ]
            case SubjectDetailsChanged():
                changes += [
                    ReleaseIdNumber(event.subject_id),
                    ClaimIdNumber(event.subject_id, event.id_number, "该身份证号已登记为其他关爱对象"),
                    MoveHousehold(event.subject_id, event.household_id),
                ]
            case SubjectExited():
                changes.append(LeaveHousehold(event.subject_id))
            case CadreRegistered():
                changes += [
                    ClaimCadre(event.cadre_id, event.name, event.birth_date, event.unit_id),
                    EnrolCadre(entry_of(event)),
                ]
            case CadreRetired():
                changes.append(ChangeCadre(event.cadre_id, available=event.continues))
            case CadreTransferred():
                changes.append(
                    ChangeCadre(
                        event.cadre_id,
                        unit_id=event.unit_id,
                        links=event.links,
                        available=False if event.leaves_area else None,
                    )
                )
            case CadreRankChanged():
                changes.append(ChangeCadre(event.cadre_id, kind=event.kind, rank=event.rank))
            case CadrePlaced():
                changes.append(ChangeCadre(event.cadre_id, links=event.links))
            case SubjectPaired():
                changes.append(_hold(event, event.cadre_id))
            case PairingEnded():
                changes.append(Release(event.subject_id))
            case CadreReassigned():
                changes += [Release(event.subject_id), _hold(event, event.to_cadre_id)]
    return changes
