"""Typed settings read from `CAREPAIR_*` environment variables, shared by every service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

from shared.clock import DEFAULT_TIMEZONE, SystemClock, programme_zone
from shared.database import service_database_url
from shared.eventstore.limits import DEFAULT_MAX_EVENT_BYTES
from shared.messaging.signing import signing_keys
from shared.personal.master_key import InvalidMasterKey, MasterKey
from shared.roster import GATEWAY, ROSTER, SERVICES, member
from shared.web.limits import BODY_TIMEOUT_SECONDS, MAX_BODY_BYTES, MAX_HEADER_BYTES, LimitOptions

PLACEHOLDERS = ("changeme", "change-me", "change_me", "placeholder", "secret", "example", "xxx", "todo")


class PlaceholderSecret(ValueError):
    """A secret left at a placeholder value: refused at start."""


def refuse_placeholder(name: str, value: str, min_length: int = 16) -> str:
    """Returns `value`, or refuses one that is short, repetitive or made of placeholder words.

    Placeholder words count only as whole parts of the value (split at `-`, `_`, `.`, `:`,
    spaces), so a random token that happens to contain "xxx" is never refused.
    """
    parts = {p for p in re.split(r"[-_.:\s]+", value.lower()) if p}
    words = {w.replace("-", "").replace("_", "") for w in PLACEHOLDERS}
    squashed = re.sub(r"[-_.:\s]+", "", value.lower())
    # Whole parts, or a value that starts with a long placeholder word ("change-me-please").
    placeholder = bool(parts & words) or any(squashed.startswith(w) for w in words if len(w) >= 6)
    if len(value) < min_length or placeholder or len(set(value)) < 4:
        raise PlaceholderSecret(
            f"{name} looks like a placeholder or is too short: generate a real one "
            f"(for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return value


class ProgrammeSettings(BaseSettings):
    """What every carepair process reads about the programme's calendar: its time zone."""

    model_config = SettingsConfigDict(env_prefix="CAREPAIR_", extra="ignore")

    timezone: str = Field(DEFAULT_TIMEZONE, description="IANA zone whose date is the programme's today")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        programme_zone(value)
        return value

    def clock(self) -> SystemClock:
        """The process's clock; build it once and hand it to everything that needs the time."""
        return SystemClock(self.timezone)


def programme_clock() -> SystemClock:
    """The clock of a tool that reads no other setting; raises `ValueError` naming a bad zone."""
    try:
        return ProgrammeSettings().clock()
    except ValidationError as exc:
        raise ValueError(str(exc.errors()[0]["ctx"]["error"])) from None


def _url_fields() -> dict[str, Any]:
    """`<name>_url` for every process of the roster (`CAREPAIR_<NAME>_URL`), on its port by default."""
    return {
        f"{m.name}_url": (str, Field(f"http://127.0.0.1:{m.port()}", description=f"where {m.name} listens"))
        for m in ROSTER
    }


def _database_fields() -> dict[str, Any]:
    """`<name>_database_url` for every service (`CAREPAIR_<NAME>_DATABASE_URL`): its own database."""
    return {
        f"{m.name}_database_url": (
            str | None,
            Field(None, description=f"{m.name}'s database; derived if unset"),
        )
        for m in SERVICES
    }


# The fields above come from the roster, so that a new service needs no new setting.
if TYPE_CHECKING:
    _WithUrls = ProgrammeSettings
else:
    _WithUrls = create_model("_WithUrls", __base__=ProgrammeSettings, **_url_fields())


class CallerSettings(_WithUrls):
    """What every carepair process that calls services reads: where they are, and its credential.

    Where each process of the roster listens is `CAREPAIR_<NAME>_URL` (`url_of(name)`), by
    default on this machine at its roster port.
    """

    service_token: SecretStr = Field(..., description="this process's credential to other services")
    development: bool = Field(
        False, description="secrets carepair up made for a local run: weak ones and NATS without a user pass"
    )

    host: str = "127.0.0.1"
    port: int = GATEWAY.port()
    log_level: str = "info"
    max_body_bytes: int = Field(
        MAX_BODY_BYTES, ge=1024, le=64 * 1024 * 1024, description="the largest request body taken"
    )
    max_header_bytes: int = Field(
        MAX_HEADER_BYTES, ge=1024, le=1024 * 1024, description="the largest total of a request's headers"
    )
    body_timeout_seconds: float = Field(
        BODY_TIMEOUT_SECONDS, gt=0, le=600, description="the longest wait for the next part of a body"
    )

    def request_limits(self) -> LimitOptions:
        """The options of `shared.web.limits.RequestLimits` for this process."""
        return {
            "max_body_bytes": self.max_body_bytes,
            "max_header_bytes": self.max_header_bytes,
            "body_timeout": self.body_timeout_seconds,
        }

    @model_validator(mode="after")
    def _real_token(self) -> Self:
        self.refuse_weak("CAREPAIR_SERVICE_TOKEN", self.service_token.get_secret_value())
        return self

    def refuse_weak(self, variable: str, value: str) -> None:
        """Refuses a weak or placeholder secret at start, unless this is a development run."""
        if not self.development:
            refuse_placeholder(variable, value)

    def url_of(self, name: str) -> str:
        """Where the roster's process `name` listens; raises `KeyError` for one not in the roster."""
        return str(getattr(self, f"{member(name).name}_url"))

    def service_urls(self) -> dict[str, str]:
        """Where each service behind the gateway listens, in the roster's order."""
        return {m.name: self.url_of(m.name) for m in SERVICES}


if TYPE_CHECKING:
    _WithDatabases = CallerSettings
else:
    _WithDatabases = create_model("_WithDatabases", __base__=CallerSettings, **_database_fields())


class Settings(_WithDatabases):
    """Everything a carepair service process reads from its environment."""

    data_dir: Path = Field(Path("var"), description="where SQLite files and embedded state live")
    database_url: str | None = Field(None, description="PostgreSQL server; unset means SQLite files")
    keystore_url: str | None = Field(None, description="the key store database; derived if unset")

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = Field(None, description="this service's NATS user (or put it in the URL)")
    nats_password: SecretStr | None = Field(None, description="the NATS user's password")
    nats_tls_ca: Path | None = Field(None, description="CA file that signed the NATS server's certificate")
    nats_tls_cert: Path | None = Field(None, description="client certificate, when NATS asks for one")
    nats_tls_key: Path | None = Field(None, description="the client certificate's private key")
    stream_name: str = "CAREPAIR"
    subject_prefix: str = "carepair"
    stream_replicas: int = 1

    master_key: SecretStr = Field(..., description="base64 key that wraps every data key")
    master_key_id: str = "k1"
    cipher: Literal["aes-256-gcm", "sm4-gcm"] = "aes-256-gcm"
    key_cache_seconds: float = 5.0

    signing_key: SecretStr = Field(..., description="signs the events this service relays to NATS")
    producer_signing_keys: SecretStr = Field(
        SecretStr(""), description="producer:key,… of the producers whose events it consumes"
    )

    peer_tokens: SecretStr = Field(
        SecretStr(""), description="name:token,… of the callers it recognises (shared/web/scopes.py)"
    )

    consistency_wait_seconds: float = 2.0
    relay_poll_seconds: float = 1.0
    max_event_bytes: int = Field(
        DEFAULT_MAX_EVENT_BYTES,
        ge=4096,
        le=768 * 1024,
        description="the largest event the store takes; below NATS's maximum payload (1 MiB by default)",
    )

    @model_validator(mode="after")
    def _real_secrets(self) -> Self:
        try:
            MasterKey.from_base64(self.master_key_id, self.master_key.get_secret_value())
        except InvalidMasterKey as exc:
            raise ValueError(f"CAREPAIR_MASTER_KEY: {exc}") from None
        for token, name in self.peers().items():
            self.refuse_weak(f"CAREPAIR_PEER_TOKENS (the token of {name})", token)
        self.refuse_weak("CAREPAIR_SIGNING_KEY", self.signing_key.get_secret_value())
        for producer, keys in signing_keys(self.producer_signing_keys.get_secret_value()).items():
            for key in keys:
                self.refuse_weak(f"CAREPAIR_PRODUCER_SIGNING_KEYS (a key of {producer})", key.decode())
        if self.nats_password is not None:
            self.refuse_weak("CAREPAIR_NATS_PASSWORD", self.nats_password.get_secret_value())
        with_user = bool(self.nats_user and self.nats_password) or bool(urlsplit(self.nats_url).username)
        if not (with_user or self.nats_tls_cert or self.development):
            raise ValueError(
                "CAREPAIR_NATS_USER and CAREPAIR_NATS_PASSWORD are not set: carepair's NATS must know "
                "each service by a user of its own (docs/operations.md#nats-users-and-permissions). "
                "CAREPAIR_DEVELOPMENT=true lets a service use a NATS without users, on your own machine only"
            )
        return self

    def peers(self) -> dict[str, str]:
        """Maps each recognised caller's token to its name."""
        peers: dict[str, str] = {}
        for item in self.peer_tokens.get_secret_value().split(","):
            name, _, token = item.strip().partition(":")
            if name and token:
                peers[token] = name
        return peers

    def database_for(self, service: str) -> URL:
        """The service's own database: `CAREPAIR_<SERVICE>_DATABASE_URL`, or derived from the base."""
        override = getattr(self, f"{service}_database_url", None)
        return service_database_url(service, self.database_url, override, self.data_dir)

    def keystore_database(self) -> URL:
        return service_database_url("keys", self.database_url, self.keystore_url, self.data_dir)
