"""The gateway's settings: where the services are and the credential it calls them with."""

from shared.settings import CallerSettings


class GatewaySettings(CallerSettings):
    """Everything the gateway reads from `CAREPAIR_*` variables."""

    upstream_timeout_seconds: float = 10.0
