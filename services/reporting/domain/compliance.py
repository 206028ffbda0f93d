"""The work standard: per pairing per year at least 4 contacts and at least 2 on-site visits."""

from __future__ import annotations

from dataclasses import dataclass

CONTACTS_PER_YEAR = 4
VISITS_PER_YEAR = 2


@dataclass(frozen=True)
class YearTally:
    """How many remote contacts and on-site visits a pairing logged in one year."""

    contacts: int = 0
    visits: int = 0

    def record(self, on_site: bool) -> YearTally:
        if on_site:
            return YearTally(self.contacts, self.visits + 1)
        return YearTally(self.contacts + 1, self.visits)

    @property
    def meets_standard(self) -> bool:
        return self.contacts >= CONTACTS_PER_YEAR and self.visits >= VISITS_PER_YEAR

    @property
    def contacts_missing(self) -> int:
        return max(0, CONTACTS_PER_YEAR - self.contacts)

    @property
    def visits_missing(self) -> int:
        return max(0, VISITS_PER_YEAR - self.visits)
