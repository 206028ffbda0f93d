"""The demo county (和政县, 622925), read from the data file shipped beside this module.

Three townships, twelve cared-for people (orphans, severely disabled people, 特困 households,
one household of two) and ten cadres of five units, each written as the body of its
registration request. The people are invented; the division codes of the villages are made up
under the county's real code, and the ID numbers carry valid check digits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class County:
    """The demo's county: who is registered, where, and how their contacts are logged."""

    code: str
    name: str
    townships: dict[str, str]  # code -> name, in the order the demo pairs them
    subjects: list[dict[str, Any]]  # bodies of POST /subjects
    cadres: list[dict[str, Any]]  # bodies of POST /cadres
    contact_modes: list[str]  # the modes of a pairing's contacts, first to last
    records: dict[str, str]  # the text of a contact: "home" for an on-site visit, "other" otherwise

    def record_of(self, mode: str) -> str:
        return self.records["home"] if mode == "home" else self.records["other"]


@cache
def county() -> County:
    """The county of `county.json`; read once per process."""
    data = json.loads(resources.files("carepair.demo").joinpath("county.json").read_text(encoding="utf-8"))
    return County(
        code=data["county"]["code"],
        name=data["county"]["name"],
        townships=data["townships"],
        subjects=data["subjects"],
        cadres=data["cadres"],
        contact_modes=data["contacts"]["modes"],
        records=data["contacts"]["records"],
    )
