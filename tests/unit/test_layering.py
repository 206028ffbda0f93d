"""The arrows of the house point inward: each rule here is read from the code's own imports.

- `shared/` is a library: it imports no service and nothing of the system (`carepair/`).
- Services never import each other; they learn from each other's events (`shared.contracts`).
- Inside a service, nothing imports `bootstrap.py` (it wires the service and is wired by no one),
  and `domain/` imports no other room of its service: the rooms depend on the domain, not the
  reverse.

Every `import` and `from … import` is read with `ast`, at any depth (a function-level or
`TYPE_CHECKING` import counts as well), so a rule cannot be dodged by moving an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import in the file; `from x import y` also yields x.y."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def breaches(files: list[Path], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(found))


def test_the_services_are_found() -> None:
    assert {"pairing", "visits", "reporting", "notify", "gateway"} <= set(SERVICES)


def test_the_shared_library_imports_no_service_and_not_the_system() -> None:
    assert breaches(python_files(ROOT / "shared"), ("services", "carepair")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_and_not_the_system(service: str) -> None:
    others = tuple(f"services.{s}" for s in SERVICES if s != service)
    assert breaches(python_files(ROOT / "services" / service), (*others, "carepair")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_nothing_in_a_service_imports_its_bootstrap(service: str) -> None:
    folder = ROOT / "services" / service
    files = [p for p in python_files(folder) if p != folder / "bootstrap.py"]
    assert breaches(files, (f"services.{service}.bootstrap",)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_s_domain_imports_no_other_room_of_it(service: str) -> None:
    domain = ROOT / "services" / service / "domain"
    rooms = tuple(
        f"services.{service}.{p.stem}"
        for p in (ROOT / "services" / service).iterdir()
        if p.name != "domain" and not p.name.startswith("_") and (p.suffix == ".py" or p.is_dir())
    )
    assert breaches(python_files(domain), rooms) == []


def test_the_check_finds_a_breach(tmp_path: Path) -> None:
    """The reader sees imports at any depth, so the rules above can fail."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from services.pairing.handlers import PairingDeps\n"
        "def late():\n    import carepair.cli\n",
        encoding="utf-8",
    )
    assert breaches([module], ("services.pairing", "carepair"), root=tmp_path) == [
        "m.py:3 imports services.pairing.handlers",
        "m.py:3 imports services.pairing.handlers.PairingDeps",
        "m.py:5 imports carepair.cli",
    ]
