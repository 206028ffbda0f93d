"""What a pairing decision rests on besides the subject's own stream, checked again at commit.

Pairing rules span records: the other members of the subject's household, the household the
cadre holds, the cadre's own facts, the women who could take a girl instead of a man. A
command reads them from the registries, which every append keeps in step in its own
transaction (committed state; never a read model, which lags behind the log). It decides,
then appends with a guard that reads them again inside the append's transaction. Every
append of the service's database holds the store's append lock for its whole transaction,
so nothing can commit between that second read and the commit. If anything differs, the
append is refused with `StaleRead` and the command decides again on the new state: a decision
always rests on exactly what was committed before it, even when two commands race.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.pairing.adapters import registries
from services.pairing.adapters.repository import Guard, PairingRepository, cadre_stream, subject_stream
from services.pairing.domain import pairing as pairings
from services.pairing.domain.cadre import CadreState
from services.pairing.domain.rules import PairingContext, SubjectView, check_pairing
from services.pairing.domain.subject import SubjectState
from shared.contracts.people import Gender, SubjectCategory
from shared.eventstore import StaleRead


@dataclass(frozen=True)
class Basis:
    """What the registries said when the command decided."""

    household: tuple[str, ...]  # the household's subjects still cared for, the subject included
    subject_cadre_id: str | None  # the cadre the subject is paired with now
    cadre_household_id: str | None  # the household the cadre holds
    household_cadre_id: str | None  # the cadre another member of the household is paired with
    female_cadre_available: bool  # a free woman the hard rules allow could take this girl


async def read_basis(
    conn: AsyncConnection, subject: SubjectView, cadre_id: str, cadre_gender: Gender, unit_id: str | None
) -> Basis:
    """Reads the basis on `conn`; women are looked for in `unit_id` only, when given."""
    female_available = False
    if subject.category is SubjectCategory.orphan and subject.gender is Gender.female:
        if cadre_gender is Gender.male:
            women = await registries.free_women(conn, excluding=cadre_id, unit_id=unit_id)
            female_available = any(not check_pairing(subject, w, PairingContext()) for w in women)
    return Basis(
        household=await registries.household(conn, subject.household_id),
        subject_cadre_id=await registries.cadre_of(conn, subject.subject_id),
        cadre_household_id=await registries.held_by(conn, cadre_id),
        household_cadre_id=await registries.household_cadre(conn, subject.household_id, subject.subject_id),
        female_cadre_available=female_available,
    )


async def committed_context(
    repo: PairingRepository,
    engine: AsyncEngine,
    subject: SubjectState,
    cadre: CadreState,
    *,
    replacing: bool = False,
    unit_id: str | None = None,
) -> tuple[PairingContext, Guard | None]:
    """The context the rules need, as committed, and the guard that holds the append to it.

    `replacing`: the subject's own current pairing is the one being replaced, so it does not
    count against the new one. `unit_id`: only this unit's women count as available (a
    reassignment stays inside the unit).
    """
    if subject.details is None or cadre.details is None:
        return PairingContext(), None  # the decision refuses an unknown person on its own
    view = pairings.subject_view(subject)
    gender = cadre.details.gender
    async with engine.connect() as conn:
        basis = await read_basis(conn, view, cadre.cadre_id, gender, unit_id)
    others = [m for m in basis.household if m != subject.subject_id]
    household = (view, *[pairings.subject_view(await repo.subject(m)) for m in others])
    context = PairingContext(
        household=household,
        subject_cadre_id=None if replacing else basis.subject_cadre_id,
        cadre_household_id=basis.cadre_household_id,
        household_cadre_id=basis.household_cadre_id,
        female_cadre_available=basis.female_cadre_available,
    )

    async def unchanged(conn: AsyncConnection) -> None:
        stream = subject_stream(subject.subject_id)
        if await registries.stream_version(conn, cadre_stream(cadre.cadre_id)) != cadre.version:
            raise StaleRead(stream, subject.version, "the cadre's record")
        if await read_basis(conn, view, cadre.cadre_id, gender, unit_id) != basis:
            raise StaleRead(
                stream, subject.version, "the household, the cadre's holding or the women available"
            )

    return context, unchanged
