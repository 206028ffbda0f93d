"""Settings: placeholders refused at start, databases derived per service."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.database import DatabaseUrlError
from shared.settings import PlaceholderSecret, Settings, refuse_placeholder

GOOD = {
    "master_key": "A" * 44,
    "service_token": "tok-9f8e7d6c5b4a3f2e1d0c",
    "peer_tokens": "gateway:tok-0a1b2c3d4e5f6a7b8c9d",
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


def test_a_placeholder_peer_token_is_refused() -> None:
    settings = Settings(**{**GOOD, "peer_tokens": "gateway:secret"})
    with pytest.raises(PlaceholderSecret):
        settings.peers()


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
