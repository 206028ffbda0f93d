"""The reporting service's settings: the common ones, on its own port (the roster's)."""

from shared.roster import member
from shared.settings import Settings


class ReportingSettings(Settings):
    port: int = member("reporting").port()
