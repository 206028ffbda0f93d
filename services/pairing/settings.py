"""The pairing service's settings: the common ones, on its own port (the roster's), and its daily round."""

from datetime import time

from pydantic import Field, field_validator

from shared.roster import member
from shared.schedule import time_of_day
from shared.settings import Settings


class PairingSettings(Settings):
    port: int = member("pairing").port()
    pairing_daily_at: str = Field(
        "00:30", description="HH:MM in the programme's zone: the daily round (18th birthdays, changes due)"
    )

    @field_validator("pairing_daily_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        time_of_day(value)
        return value

    def daily_at(self) -> time:
        return time_of_day(self.pairing_daily_at)
