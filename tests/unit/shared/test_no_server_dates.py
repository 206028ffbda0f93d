"""No code asks the server for the date: "today" comes from the programme's clock alone.

A bare `date.today()` (or a naive `datetime.now()`) is the server's date, which in Gansu before
08:00 is still yesterday in UTC. Only `shared/clock.py` may read the machine's time that way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
SCANNED = ("services", "shared", "bench", "tests")
ALLOWED = {Path("shared/clock.py")}


def _owner(node: ast.Attribute) -> str | None:
    owner = node.value
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
    return name if name in ("date", "datetime") else None


def _server_dates(tree: ast.AST) -> list[tuple[int, str]]:
    """Where `tree` reads the server's date: a call, or a reference handed on (`default=date.today`)."""
    called = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or (owner := _owner(node)) is None:
            continue
        spelling = f"{owner}.{node.attr}"
        if node.attr in ("today", "utcnow", "utcfromtimestamp"):
            found.append((node.lineno, spelling))
        elif node.attr in ("now", "fromtimestamp"):
            call = called.get(id(node))
            zone_given = call is not None and (
                len(call.args) > (0 if node.attr == "now" else 1) or any(k.arg == "tz" for k in call.keywords)
            )
            if not zone_given:
                found.append((node.lineno, f"{spelling} without a time zone"))
    return found


def offences(root: Path) -> list[str]:
    found = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            if relative in ALLOWED:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
            found += [f"{relative}:{line}: {spelling}" for line, spelling in _server_dates(tree)]
    return found


def test_no_code_reads_the_server_s_date_outside_the_clock() -> None:
    assert offences(ROOT) == [], "use the process's Clock (shared/clock.py) for today and now"


@pytest.mark.parametrize(
    "source",
    [
        "date.today()",
        "datetime.date.today()",
        "datetime.today()",
        "datetime.now()",
        "datetime.datetime.now()",
        "datetime.utcnow()",
        "date.fromtimestamp(0)",
        "field(default_factory=date.today)",
        "field(default_factory=datetime.now)",
    ],
)
def test_the_guard_catches_each_spelling(source: str, tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "bad.py").write_text(f"x = {source}\n", encoding="utf-8")
    assert len(offences(tmp_path)) == 1


@pytest.mark.parametrize("source", ["datetime.now(UTC)", "datetime.now(tz=UTC)", "clock.today()"])
def test_the_guard_lets_aware_instants_and_the_clock_through(source: str, tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "fine.py").write_text(f"x = {source}\n", encoding="utf-8")
    assert offences(tmp_path) == []
