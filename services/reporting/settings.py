"""The reporting service's settings: the common ones, on its own port."""

from shared.settings import Settings


class ReportingSettings(Settings):
    port: int = 8084
