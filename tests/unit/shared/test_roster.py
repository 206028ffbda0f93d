"""The roster is the one list of carepair's processes, and the rest of the house agrees with it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from carepair.launcher.environments import settings_class
from shared.roster import GATEWAY, ROSTER, SERVICE_NAMES, SERVICES, member
from shared.settings import CallerSettings
from tests.support.apps import app_factory

REPO = Path(__file__).resolve().parents[3]
TOKEN = "tok-9f8e7d6c5b4a3f2e1d0c"


def test_names_and_ports_are_unique_and_the_gateway_is_at_the_base() -> None:
    assert len({m.name for m in ROSTER}) == len(ROSTER)
    assert len({m.port() for m in ROSTER}) == len(ROSTER)
    assert GATEWAY.port() == 8080 and GATEWAY.port(9000) == 9000
    assert SERVICE_NAMES == tuple(m.name for m in SERVICES)
    assert GATEWAY not in SERVICES


def test_every_service_directory_is_in_the_roster_and_every_member_has_one() -> None:
    packages = {p.parent.name for p in (REPO / "services").glob("*/__init__.py")}
    assert packages == {m.name for m in ROSTER}


def test_an_unknown_name_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="pairing"):
        member("billing")


@pytest.mark.parametrize("name", [m.name for m in ROSTER])
def test_each_app_path_names_a_factory(name: str) -> None:
    assert callable(app_factory(name))


@pytest.mark.parametrize("name", [m.name for m in ROSTER])
def test_each_settings_class_listens_on_its_roster_port(name: str) -> None:
    assert settings_class(name).model_fields["port"].default == member(name).port()


def test_the_architecture_page_lists_each_process_on_its_port() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (\w+) \| (\d+) \|", text, re.MULTILINE))
    assert {name: int(port) for name, port in listed.items()} == {m.name: m.port() for m in ROSTER}


def test_where_each_process_is_defaults_to_its_roster_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m.name for m in ROSTER]:
        monkeypatch.delenv(f"CAREPAIR_{name.upper()}_URL", raising=False)
    settings = CallerSettings(service_token=TOKEN)
    assert {m.name: settings.url_of(m.name) for m in ROSTER} == {
        m.name: f"http://127.0.0.1:{m.port()}" for m in ROSTER
    }
    assert list(settings.service_urls()) == list(SERVICE_NAMES)


def test_where_each_process_is_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for m in ROSTER:
        monkeypatch.setenv(f"CAREPAIR_{m.name.upper()}_URL", f"http://{m.name}.internal:9{m.port_offset}")
    settings = CallerSettings(service_token=TOKEN)
    for m in ROSTER:
        assert settings.url_of(m.name) == f"http://{m.name}.internal:9{m.port_offset}"
    assert CallerSettings(service_token=TOKEN, visits_url="http://v:1").url_of("visits") == "http://v:1"
    with pytest.raises(KeyError):
        settings.url_of("billing")


def test_the_roster_loads_with_the_standard_library_alone() -> None:
    # deploy/README.md reads it with a bare python3 to write the secrets of every process.
    probe = "import sys, shared.roster; print(sorted({m.split('.')[0] for m in sys.modules}))"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); {probe}"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    loaded = set(ast.literal_eval(result.stdout))
    assert loaded - set(sys.stdlib_module_names) - {"__main__"} == {"shared"}
