"""Settings: placeholders refused at start, databases derived per service."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.database import DatabaseUrlError
from shared.settings import PlaceholderSecret, Settings, refuse_placeholder

GOOD = {
    "master_key": base64.b64encode(os.urandom(32)).decode(),
    "service_token": "tok-9f8e7d6c5b4a3f2e1d0c",
    "peer_tokens": "gateway:tok-0a1b2c3d4e5f6a7b8c9d",
    "nats_user": "visits",
    "nats_password": "nats-3e4f5a6b7c8d9e0f1a2b",
    "signing_key": "sign-6b7c8d9e0f1a2b3c4d5e",
    "producer_signing_keys": "pairing:sign-0f1a2b3c4d5e6f7a8b9c",
}


def test_a_placeholder_service_token_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(**{**GOOD, "service_token": "changeme-changeme-1234"})


@pytest.mark.parametrize("token", ["change-me-please-now", "placeholder_token_123", "my-secret-token-2026"])
def test_tokens_made_of_placeholder_words_are_refused(token: str) -> None:
    with pytest.raises(PlaceholderSecret):
        refuse_placeholder("t", token)


def test_a_random_token_that_happens_to_contain_xxx_is_accepted() -> None:
    assert refuse_placeholder("t", "Qa8xxxZ0-3kLm9PqR2sT") == "Qa8xxxZ0-3kLm9PqR2sT"


def test_a_placeholder_peer_token_is_refused_at_start_naming_its_variable() -> None:
    with pytest.raises(ValidationError, match="CAREPAIR_PEER_TOKENS.*gateway"):
        Settings(**{**GOOD, "peer_tokens": "gateway:secret"})


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (base64.b64encode(os.urandom(16)).decode(), "16 bytes"),
        (base64.b64encode(b"changeme-changeme-changeme-12345").decode(), "placeholder"),
        ("not base64 at all!", "base64"),
        ("", "empty"),
    ],
)
def test_a_master_key_that_is_not_32_random_bytes_is_refused_at_start(key: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=f"CAREPAIR_MASTER_KEY.*{problem}"):
        Settings(**{**GOOD, "master_key": key})


@pytest.mark.parametrize("password", ["changeme", "nats-password-placeholder", "short"])
def test_a_weak_nats_password_is_refused_at_start(password: str) -> None:
    with pytest.raises(ValidationError, match="CAREPAIR_NATS_PASSWORD"):
        Settings(**{**GOOD, "nats_password": password})


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"signing_key": "changeme-signing-key"}, "CAREPAIR_SIGNING_KEY"),
        ({"producer_signing_keys": "visits:todo"}, "CAREPAIR_PRODUCER_SIGNING_KEYS.*visits"),
    ],
)
def test_a_weak_signing_key_is_refused_at_start(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        Settings(**{**GOOD, **values})


def test_a_nats_connection_without_credentials_is_refused_outside_development() -> None:
    values = {k: v for k, v in GOOD.items() if not k.startswith("nats_")}
    with pytest.raises(ValidationError, match="CAREPAIR_NATS_USER"):
        Settings(**values)
    assert Settings(**values, nats_url="nats://visits:nats-3e4f5a6b7c8d9e0f1a2b@nats:4222")
    assert Settings(**values, development=True)


def test_the_development_switch_lets_weak_tokens_and_passwords_through_but_not_a_broken_master_key() -> None:
    weak = {"service_token": "dev", "peer_tokens": "gateway:dev", "nats_password": "dev"}
    settings = Settings(**{**GOOD, **weak}, development=True)
    assert settings.peers() == {"dev": "gateway"}
    with pytest.raises(ValidationError, match="CAREPAIR_MASTER_KEY"):
        Settings(**{**GOOD, "master_key": "dev"}, development=True)


def test_without_a_database_url_each_service_gets_a_sqlite_file(tmp_path: Path) -> None:
    settings = Settings(**GOOD, data_dir=tmp_path)
    url = settings.database_for("visits")
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "visits.sqlite")
    assert settings.keystore_database().database == str(tmp_path / "keys.sqlite")


def test_a_postgresql_url_gives_each_service_its_own_database() -> None:
    settings = Settings(**GOOD, database_url="postgresql://u:p@db:5432/carepair")
    assert settings.database_for("pairing").database == "carepair_pairing"
    assert settings.keystore_database().database == "carepair_keys"


def test_a_per_service_url_overrides_the_derived_one() -> None:
    settings = Settings(
        **GOOD, database_url="postgresql://db/carepair", visits_database_url="postgresql://other/v"
    )
    assert settings.database_for("visits").render_as_string() == "postgresql://other/v"


def test_an_unsupported_database_is_refused_with_what_to_use() -> None:
    settings = Settings(**GOOD, database_url="mysql://db/carepair")
    with pytest.raises(DatabaseUrlError, match="postgresql:// or sqlite:///"):
        settings.database_for("visits")
