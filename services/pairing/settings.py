"""The pairing service's settings: the common ones, on its own port."""

from shared.settings import Settings


class PairingSettings(Settings):
    port: int = 8081
