"""Changes dated ahead: which wait for their day, and how far ahead one may be recorded."""

from __future__ import annotations

from datetime import date, timedelta

from services.pairing.domain.refusals import Refusal, Refused

# Retirements and transfers are known months ahead, rarely more than a year; a date further
# out is more likely a typing mistake (2062 for 2026) than a plan.
HORIZON = timedelta(days=366)


def takes_effect_later(
    on: date, today: date, *, subject_id: str | None = None, cadre_id: str | None = None
) -> bool:
    """Whether a change dated `on` waits for its day; refuses one dated beyond the horizon."""
    if on > today + HORIZON:
        raise Refused(
            [
                Refusal(
                    "effective_on_too_far",
                    f"生效日期{on.isoformat()}晚于{(today + HORIZON).isoformat()}：最多提前一年登记",
                    subject_id=subject_id,
                    cadre_id=cadre_id,
                )
            ]
        )
    return on > today
