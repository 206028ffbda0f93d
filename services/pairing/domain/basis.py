"""What a pairing decision rests on besides the subject's own stream, checked again at commit.

Pairing rules span records: the other members of the subject's household, the household the
cadre holds, the cadre's own facts, the women who could take a girl instead of a man. A
command reads them from the registries, which every append keeps in step in its own
transaction (committed state; never a read model, which lags behind the log). It decides,
then appends with a check that reads them again inside the append's transaction, where nothing
else can commit (the store's append lock, or the in-memory store's critical section). If
anything differs, the append is refused with `StaleRead` and the command decides again on the
new state: a decision always rests on exactly what was committed before it, even when two
commands race.

This module holds the pure part: the `Basis` value, whether a girl could have a woman instead,
and the `PairingContext` the rules receive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.pairing.domain.rules import CadreView, PairingContext, SubjectView, check_pairing
from shared.contracts.people import Gender, SubjectCategory


@dataclass(frozen=True)
class Basis:
    """What the registries said when the command decided."""

    household: tuple[str, ...]  # the household's subjects still cared for, the subject included
    subject_cadre_id: str | None  # the cadre the subject is paired with now
    cadre_household_id: str | None  # the household the cadre holds
    household_cadre_id: str | None  # the cadre another member of the household is paired with
    female_cadre_available: bool  # a free woman the hard rules allow could take this girl


@dataclass(frozen=True)
class Registered:
    """What the registries hold for some subjects, households and cadres, read at once.

    Enough to make the `Basis` of every pairing among them (`basis_of`); what was not asked for
    is absent, not empty, so ask for every subject, household and cadre a basis will name.
    """

    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # household → subjects, id order
    cadre_of: Mapping[str, str] = field(default_factory=dict)  # subject → the cadre it has now
    household_pairings: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=dict
    )  # household → its active pairings as (subject, cadre), by subject
    held: Mapping[str, str] = field(default_factory=dict)  # cadre → the household it holds
    women: tuple[CadreView, ...] = ()  # free women who can take a pairing, id order, when asked
    versions: Mapping[str, int] = field(default_factory=dict)  # cadre → its stream's version, when asked

    def household_cadre(self, household_id: str, besides: str) -> str | None:
        """As `RegistryReader.household_cadre`: the first cadre of another member, by cadre id."""
        cadres = sorted(c for s, c in self.household_pairings.get(household_id, ()) if s != besides)
        return cadres[0] if cadres else None


def basis_of(registered: Registered, subject: SubjectView, cadre_id: str, cadre_gender: Gender) -> Basis:
    """The basis of pairing `subject` with the cadre, from registries read for it (and others).

    The same value `read_basis` reads piece by piece; the women counted are those `registered`
    was read with (all units, or one).
    """
    female_available = False
    if looks_for_women(subject, cadre_gender):
        women = [w for w in registered.women if w.cadre_id != cadre_id]
        female_available = woman_available(subject, women)
    return Basis(
        household=registered.members.get(subject.household_id, ()),
        subject_cadre_id=registered.cadre_of.get(subject.subject_id),
        cadre_household_id=registered.held.get(cadre_id),
        household_cadre_id=registered.household_cadre(subject.household_id, subject.subject_id),
        female_cadre_available=female_available,
    )


def looks_for_women(subject: SubjectView, cadre_gender: Gender) -> bool:
    """A man is asked for an orphan girl: whether a woman could take her instead matters."""
    return (
        subject.category is SubjectCategory.orphan
        and subject.gender is Gender.female
        and cadre_gender is Gender.male
    )


def woman_available(subject: SubjectView, women: Sequence[CadreView]) -> bool:
    """One of `women` passes every hard rule for the subject."""
    return any(not check_pairing(subject, w, PairingContext()) for w in women)


def context_of(
    basis: Basis, household: tuple[SubjectView, ...], *, replacing: bool = False
) -> PairingContext:
    """The rules' context: `household` is the subject's view first, then the other members'.

    `replacing`: the subject's own current pairing is the one being replaced, so it does not
    count against the new one.
    """
    return PairingContext(
        household=household,
        subject_cadre_id=None if replacing else basis.subject_cadre_id,
        cadre_household_id=basis.cadre_household_id,
        household_cadre_id=basis.household_cadre_id,
        female_cadre_available=basis.female_cadre_available,
    )
