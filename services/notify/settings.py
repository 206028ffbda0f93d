"""The notify service's settings: the common ones, on its own port (the roster's)."""

from shared.roster import member
from shared.settings import Settings


class NotifySettings(Settings):
    port: int = member("notify").port()
