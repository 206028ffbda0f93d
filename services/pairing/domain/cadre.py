"""A cadre's record: details, rank, unit and availability (decide / evolve)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from services.pairing.domain.commands import (
    ChangeCadreRank,
    PlaceCadre,
    RegisterCadre,
    RetireCadre,
    TransferCadre,
)
from services.pairing.domain.rank import check_rank
from services.pairing.domain.refusals import Refusal, Refused
from services.pairing.domain.rules import CadreView
from services.pairing.domain.schedule import takes_effect_later
from shared.contracts.base import EventPayload
from shared.contracts.pairing import (
    CadreDepartureScheduled,
    CadreDetails,
    CadrePlaced,
    CadreRankChanged,
    CadreRegistered,
    CadreRetired,
    CadreTransferred,
    PlannedRetirement,
    PlannedTransfer,
)
from shared.contracts.people import Links, Rank


class CadreStatus(StrEnum):
    active = "active"
    retired_continuing = "retired_continuing"  # 退休后仍愿意参与，由原单位管理
    retired = "retired"
    transferred_away = "transferred_away"


@dataclass(frozen=True)
class CadreState:
    """What the cadre's stream says, folded."""

    cadre_id: str
    version: int = 0
    details: CadreDetails | None = None
    status: CadreStatus = CadreStatus.active
    placed_reason: str = ""
    departure: CadreDepartureScheduled | None = None  # dated ahead; nothing changes until then

    @property
    def registered(self) -> bool:
        return self.details is not None

    @property
    def can_take_pairings(self) -> bool:
        return self.status in (CadreStatus.active, CadreStatus.retired_continuing)

    def view(self) -> CadreView:
        """The facts the pairing rules need; only for a registered cadre."""
        d = self.details
        assert d is not None, "view() of an unregistered cadre"
        return CadreView(
            cadre_id=self.cadre_id,
            name=d.name,
            kind=d.kind,
            gender=d.gender,
            birth_date=d.birth_date,
            rank=d.rank,
            party_member=d.party_member,
            links=d.links,
            can_take_pairings=self.can_take_pairings,
        )


def evolve(state: CadreState, event: EventPayload) -> CadreState:
    """Applies one event of the cadre's stream; never fails."""
    state = replace(state, version=state.version + 1)
    details = state.details
    match event:
        case CadreRegistered():
            return replace(state, details=event)
        case CadreDepartureScheduled():
            return replace(state, departure=event)
        case CadreRetired():
            status = CadreStatus.retired_continuing if event.continues else CadreStatus.retired
            return replace(state, status=status, departure=None)
        case CadreTransferred() if details is not None:
            moved = details.model_copy(
                update={"unit_id": event.unit_id, "unit_name": event.unit_name, "links": event.links}
            )
            status = CadreStatus.transferred_away if event.leaves_area else state.status
            return replace(state, details=moved, status=status, departure=None)
        case CadreRankChanged() if details is not None:
            changed = details.model_copy(update={"rank": event.rank, "post": event.post, "kind": event.kind})
            return replace(state, details=changed)
        case CadrePlaced() if details is not None:
            return replace(
                state, details=details.model_copy(update={"links": event.links}), placed_reason=event.reason
            )
    return state


def decide_register(state: CadreState, command: RegisterCadre) -> list[EventPayload]:
    details = CadreRegistered(**dict(command))
    if state.registered:
        raise Refused([Refusal("cadre_exists", "该干部已登记，不能重复登记", cadre_id=state.cadre_id)])
    _check(details.rank, details.links, details.kind.value, state.cadre_id)
    return [details]


def decide_retire(state: CadreState, command: RetireCadre, today: date) -> list[EventPayload]:
    """Retires the cadre at once, or, dated after today, schedules it for its day."""
    return _depart(state, CadreRetired(**dict(command)), today)


def decide_transfer(state: CadreState, command: TransferCadre, today: date) -> list[EventPayload]:
    """Moves the cadre at once, or, dated after today, schedules it for its day."""
    return _depart(state, CadreTransferred(**dict(command)), today)


def _depart(state: CadreState, event: CadreRetired | CadreTransferred, today: date) -> list[EventPayload]:
    _require_active(state)
    if not takes_effect_later(event.effective_on, today, cadre_id=state.cadre_id):
        return [event]
    planned: PlannedRetirement | PlannedTransfer
    if isinstance(event, CadreRetired):
        planned = PlannedRetirement(continues=event.continues)
    else:
        planned = PlannedTransfer(
            unit_id=event.unit_id, unit_name=event.unit_name, leaves_area=event.leaves_area, links=event.links
        )
    return [
        CadreDepartureScheduled(cadre_id=state.cadre_id, effective_on=event.effective_on, departure=planned)
    ]


def decide_due(state: CadreState, today: date) -> list[EventPayload]:
    """The departure scheduled for today or earlier, as the real event; nothing otherwise."""
    scheduled = state.departure
    if scheduled is None or scheduled.effective_on > today:
        return []
    planned, on = scheduled.departure, scheduled.effective_on
    if isinstance(planned, PlannedRetirement):
        return [CadreRetired(cadre_id=state.cadre_id, effective_on=on, continues=planned.continues)]
    return [
        CadreTransferred(
            cadre_id=state.cadre_id,
            effective_on=on,
            unit_id=planned.unit_id,
            unit_name=planned.unit_name,
            leaves_area=planned.leaves_area,
            links=planned.links,
        )
    ]


def decide_rank_change(state: CadreState, command: ChangeCadreRank) -> list[EventPayload]:
    _require_active(state)
    check_rank(command.rank)
    return [CadreRankChanged(**dict(command))]


def decide_place(state: CadreState, command: PlaceCadre) -> list[EventPayload]:
    _require_active(state)
    links, reason = command.links, command.reason
    if not reason.strip():
        raise Refused(
            [Refusal("placement_reason_missing", "县办统筹安排须写明理由", cadre_id=state.cadre_id)]
        )
    if not links.township_codes and not links.village_codes:
        raise Refused([Refusal("placement_empty", "请至少安排一个乡镇或村", cadre_id=state.cadre_id)])
    return [CadrePlaced(cadre_id=state.cadre_id, links=links, reason=reason)]


def _check(rank: Rank, links: Links, kind: str, cadre_id: str) -> None:
    check_rank(rank)
    if kind == "resident_village_cadre" and not links.resident_township_code:
        raise Refused(
            [Refusal("resident_village_missing", "驻村帮扶干部须填写所驻村及其所在乡镇", cadre_id=cadre_id)]
        )


def _require_active(state: CadreState) -> None:
    if not state.registered:
        raise Refused([Refusal("cadre_unknown", "没有这名干部", cadre_id=state.cadre_id)])
    if state.status in (CadreStatus.retired, CadreStatus.transferred_away):
        raise Refused([Refusal("cadre_inactive", "该干部已退休离岗或调离", cadre_id=state.cadre_id)])
