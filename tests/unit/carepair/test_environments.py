"""`carepair up` hands each child only the secrets it uses, whatever its own environment holds."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from carepair.launcher import up
from carepair.launcher.environments import settings_class
from carepair.launcher.secrets import embedded_secrets
from shared.roster import GATEWAY
from shared.roster import SERVICE_NAMES as SERVICES
from shared.web.scopes import callers_of

GIVEN_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
LAUNCHER_ENV = {
    "CAREPAIR_MASTER_KEY": GIVEN_MASTER_KEY,
    "CAREPAIR_DATABASE_URL": "postgresql://carepair:db-password-8f7e6d5c@db.example/carepair",
    "CAREPAIR_LOG_LEVEL": "warning",
    "CAREPAIR_TIMEZONE": "Asia/Shanghai",
    "CAREPAIR_GATEWAY_TOKEN": "a-stray-token-from-a-compose-env-file",
    "PATH": "/usr/bin",
}


@pytest.fixture
def environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    for key in list(os.environ):
        if key.startswith("CAREPAIR_"):
            monkeypatch.delenv(key)
    for key, value in LAUNCHER_ENV.items():
        monkeypatch.setenv(key, value)
    return up.service_environment(tmp_path / "var", "nats://127.0.0.1:4322", up.ports())


def secret_values(data_dir: Path) -> dict[str, str]:
    """Every secret of the data directory, by what it is."""
    secrets = embedded_secrets(data_dir)
    values = {"master key": GIVEN_MASTER_KEY, "database password": "db-password-8f7e6d5c"}
    values |= {f"{name} token": token for name, token in secrets.tokens.items()}
    values |= {f"{name} NATS password": password for name, password in secrets.nats_passwords.items()}
    values |= {f"{name} signing key": key for name, key in secrets.signing_keys.items()}
    return values


def secrets_in(env: dict[str, str], data_dir: Path) -> set[str]:
    text = "\n".join(env.values())
    return {what for what, value in secret_values(data_dir).items() if value in text}


def test_the_gateway_gets_its_own_token_and_no_other_secret(
    environments: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    gateway = environments["gateway"]
    assert secrets_in(gateway, tmp_path / "var") == {"gateway token"}
    assert gateway["CAREPAIR_SERVICE_TOKEN"] == embedded_secrets(tmp_path / "var").tokens["gateway"]
    assert not {"CAREPAIR_MASTER_KEY", "CAREPAIR_PEER_TOKENS", "CAREPAIR_NATS_PASSWORD"} & set(gateway)
    assert gateway["CAREPAIR_LOG_LEVEL"] == "warning" and gateway["PATH"] == "/usr/bin"


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_gets_its_own_secrets_and_the_tokens_of_its_callers_only(
    name: str, environments: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    env = environments[name]
    expected = {
        "master key",
        "database password",  # its database URL
        f"{name} token",
        f"{name} NATS password",
        f"{name} signing key",
        *(f"{caller} token" for caller in callers_of(name)),
        *(f"{producer} signing key" for producer in up.producers_followed_by(name)),
    }
    assert secrets_in(env, tmp_path / "var") == expected
    assert env["CAREPAIR_MASTER_KEY"] == GIVEN_MASTER_KEY
    assert env["CAREPAIR_NATS_USER"] == name


@pytest.mark.parametrize("name", [*SERVICES, GATEWAY.name])
def test_each_child_loads_its_settings_from_that_environment(
    name: str, environments: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in LAUNCHER_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in environments[name].items():
        monkeypatch.setenv(key, value)
    settings = settings_class(name)()
    if name != "gateway":
        assert sorted(settings.peers().values()) == sorted(callers_of(name))  # type: ignore[attr-defined]


def test_with_a_nats_of_your_own_its_credentials_go_to_the_services_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPAIR_NATS_USER", "carepair")
    monkeypatch.setenv("CAREPAIR_NATS_PASSWORD", "a-nats-password-4e5f6a7b8c9d")
    envs = up.service_environment(tmp_path, "nats://nats.example:4222", up.ports(), embedded_nats=False)
    for name in SERVICES:
        assert envs[name]["CAREPAIR_NATS_PASSWORD"] == "a-nats-password-4e5f6a7b8c9d"
    assert "CAREPAIR_NATS_PASSWORD" not in envs["gateway"]
    assert "CAREPAIR_NATS_USER" not in envs["gateway"]


def test_only_secrets_the_launcher_made_itself_switch_the_children_to_development(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("CAREPAIR_"):
            monkeypatch.delenv(key)
    made = up.service_environment(tmp_path, "nats://127.0.0.1:4222", up.ports(), embedded_nats=False)
    assert {env.get("CAREPAIR_DEVELOPMENT") for env in made.values()} == {"true"}
    monkeypatch.setenv("CAREPAIR_MASTER_KEY", GIVEN_MASTER_KEY)
    given = up.service_environment(tmp_path, "nats://127.0.0.1:4222", up.ports(), embedded_nats=False)
    assert all("CAREPAIR_DEVELOPMENT" not in env for env in given.values())
