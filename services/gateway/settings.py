"""The gateway's settings: where the services are and the credential it calls them with."""

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import refuse_placeholder


class GatewaySettings(BaseSettings):
    """Everything the gateway reads from `CAREPAIR_*` variables."""

    model_config = SettingsConfigDict(env_prefix="CAREPAIR_", extra="ignore")

    service_token: SecretStr
    pairing_url: str = "http://127.0.0.1:8081"
    visits_url: str = "http://127.0.0.1:8082"
    notify_url: str = "http://127.0.0.1:8083"
    reporting_url: str = "http://127.0.0.1:8084"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    upstream_timeout_seconds: float = 10.0

    @field_validator("service_token")
    @classmethod
    def _real_token(cls, value: SecretStr) -> SecretStr:
        refuse_placeholder("CAREPAIR_SERVICE_TOKEN", value.get_secret_value())
        return value

    def service_urls(self) -> dict[str, str]:
        return {
            "pairing": self.pairing_url,
            "visits": self.visits_url,
            "notify": self.notify_url,
            "reporting": self.reporting_url,
        }
