"""The base of every request body: bounded, free of control characters, dates in a sane range.

Each field declares its own bounds (lengths, ranges). What a field cannot declare, the base
checks over the whole body as it arrives, nested objects included:

- no control character (U+0000–U+001F, U+007F–U+009F) in any text, except tab and line breaks;
- no text longer than `MAX_TEXT`, no list longer than `MAX_ITEMS`, no object with more than
  `MAX_KEYS` keys, no nesting deeper than `MAX_DEPTH`;
- every date between `EARLIEST` and `LATEST`.

A body that breaks one is refused with 422 `invalid_input`, naming the field, before anything
is decided or written.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

MAX_TEXT = 10_000
MAX_ITEMS = 2_000
MAX_KEYS = 100
MAX_DEPTH = 8
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)


# The control characters refused: C0 but tab and line breaks, DEL, and C1.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control(text: str) -> str | None:
    found = _CONTROLS.search(text)
    return found.group() if found else None


def _refuse(path: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(
        "bounded_body", "{path}: {problem}", {"path": path or "body", "problem": problem}
    )


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _fine(value: Any, depth: int) -> bool:
    """Whether the body keeps every bound; the fast pass, which builds no path."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, str):
        return len(value) <= MAX_TEXT and _CONTROLS.search(value) is None
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            return False
        return all(_fine(key, depth + 1) and _fine(item, depth + 1) for key, item in value.items())
    if isinstance(value, list | tuple):
        return len(value) <= MAX_ITEMS and all(_fine(item, depth + 1) for item in value)
    return True


def _walk(value: Any, path: str, depth: int) -> None:
    """Refuses the first bound broken, naming where; run when the fast pass found one."""
    if depth > MAX_DEPTH:
        raise _refuse(path, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _refuse(path, f"a text of {len(value)} characters; at most {MAX_TEXT}")
        char = _control(value)
        if char is not None:
            raise _refuse(path, f"holds the control character U+{ord(char):04X}; remove it")
    elif isinstance(value, dict):
        if len(value) > MAX_KEYS:
            raise _refuse(path, f"{len(value)} keys; at most {MAX_KEYS}")
        for key, item in value.items():
            _walk(key, _join(path, key), depth + 1)
            _walk(item, _join(path, key), depth + 1)
    elif isinstance(value, list | tuple):
        if len(value) > MAX_ITEMS:
            raise _refuse(path, f"a list of {len(value)} items; at most {MAX_ITEMS}")
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)


class RequestBody(BaseModel):
    """A request body: unknown fields refused, and the bounds of this module checked."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        if not _fine(data, 0):
            _walk(data, "", 0)
        return data

    @model_validator(mode="after")
    def _dates_in_range(self) -> RequestBody:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, date) and not EARLIEST <= value <= LATEST:
                raise _refuse(name, f"{value.isoformat()} is not between {EARLIEST} and {LATEST}")
        return self
