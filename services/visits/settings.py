"""The visits service's settings: the common ones, on its own port."""

from shared.settings import Settings


class VisitsSettings(Settings):
    port: int = 8082
