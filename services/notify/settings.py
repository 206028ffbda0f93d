"""The notify service's settings: the common ones, on its own port."""

from shared.settings import Settings


class NotifySettings(Settings):
    port: int = 8083
