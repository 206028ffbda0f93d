"""The pure tiers stay light: contracts and every service's domain load no driver, ORM or cipher.

Each import runs in a fresh interpreter, so what another test loaded cannot hide a dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
HEAVY = ("sqlalchemy", "asyncpg", "aiosqlite", "psycopg", "cryptography", "nats", "fastapi", "httpx")
PURE = [
    "shared.contracts",
    *(f"services.{p.parent.name}.domain" for p in sorted(ROOT.glob("services/*/domain"))),
]


def loaded_by(module: str) -> list[str]:
    """The heavy top-level packages that importing `module` (and its submodules) loads."""
    script = f"""
import importlib, json, pkgutil, sys
package = importlib.import_module({module!r})
for found in pkgutil.walk_packages(getattr(package, "__path__", []), {module!r} + "."):
    importlib.import_module(found.name)
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({list(HEAVY)!r}))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("module", PURE)
def test_a_pure_tier_loads_no_driver_orm_or_cipher(module: str) -> None:
    assert loaded_by(module) == []


def test_contracts_do_not_import_the_personal_data_library() -> None:
    """shared.personal seals contracts; contracts must not need it back (no circle)."""
    for path in (ROOT / "shared" / "contracts").glob("*.py"):
        assert "shared.personal" not in path.read_text(encoding="utf-8"), path.name
