"""Request bodies are bounded and free of control characters, nested objects included."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from services.pairing.entrypoints.schemas import CadreCreate, PairingCreate, SubjectCreate
from services.visits.entrypoints.api import VisitCreate
from shared.web import bodies
from shared.web.errors import install_error_handlers


def cadre(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "李芳",
        "gender": "female",
        "birth_date": "1980-03-01",
        "unit_id": "u-civil",
        "unit_name": "县民政局",
        "rank": {"tier": "township", "title": "principal"},
        "party_member": True,
        "kind": "unit_leader",
        "links": {"village_codes": ["622925100201"]},
    }
    return {**body, **changes}


def subject(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "马小花",
        "gender": "female",
        "birth_date": "2014-05-17",
        "id_number": "62292520140517002X",
        "residence": {"county_code": "622925", "township_code": "622925100", "village_code": "622925100201"},
        "category": "orphan",
        "guardian": {"name": "马奶奶", "gender": "female", "relation": "祖母"},
    }
    return {**body, **changes}


async def posted(body: dict[str, Any]) -> httpx.Response:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/cadres")
    async def register(cadre: CadreCreate) -> dict[str, str]:
        return {"name": cadre.name}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.post("/cadres", json=body)


def test_a_good_body_passes() -> None:
    assert CadreCreate.model_validate(cadre()).name == "李芳"
    assert SubjectCreate.model_validate(subject()).guardian is not None


@pytest.mark.parametrize(
    "body,where",
    [
        (cadre(name="李\x00芳"), "name"),
        (cadre(post="局长\x1b[31m"), "post"),
        (cadre(links={"village_codes": ["622925100201\x00"]}), "links.village_codes[0]"),
        (subject(guardian={"name": "马\x07奶奶", "gender": "female", "relation": "祖母"}), "guardian.name"),
    ],
)
def test_a_control_character_anywhere_is_refused_naming_the_field(body: dict[str, Any], where: str) -> None:
    model = SubjectCreate if "category" in body else CadreCreate
    with pytest.raises(ValueError, match=re.escape(f"{where}: holds the control")):
        model.model_validate(body)


def test_tabs_and_line_breaks_are_text_not_control() -> None:
    record = "电话询问近况：\n\t1. 取暖已落实\r\n\t2. 药品充足"
    visit = {
        "pairing_id": "0b9e4a3c-5d21-4f8e-8c47-2a1f6e9d3b10",
        "subject_id": "s-1",
        "cadre_id": "c-1",
        "mode": "phone",
        "happened_on": "2026-11-27",
        "record": record,
    }
    assert VisitCreate.model_validate(visit).record == record


def test_a_hundred_thousand_village_codes_are_refused() -> None:
    codes = [f"622925{n:06d}" for n in range(100_000)]
    with pytest.raises(ValueError, match="a list of 100000 items; at most 2000"):
        CadreCreate.model_validate(cadre(links={"village_codes": codes}))


@pytest.mark.parametrize("born", ["1899-12-31", "2101-01-01"])
def test_a_date_outside_1900_to_2100_is_refused(born: str) -> None:
    with pytest.raises(ValueError, match="is not between 1900-01-01 and 2100-12-31"):
        CadreCreate.model_validate(cadre(birth_date=born))


def test_ids_and_overrides_are_bounded() -> None:
    with pytest.raises(ValueError):
        PairingCreate.model_validate({"subject_id": "s" * 65, "cadre_id": "c-1"})
    many = {f"rule_{n}": "理由" for n in range(11)}
    with pytest.raises(ValueError):
        PairingCreate.model_validate({"subject_id": "s-1", "cadre_id": "c-1", "overrides": many})
    ok = PairingCreate.model_validate(
        {"subject_id": "s-1", "cadre_id": "c-1", "effective_on": str(date(2026, 1, 1))}
    )
    assert ok.overrides == {}


async def test_the_refusal_is_a_422_in_the_one_error_shape() -> None:
    answer = await posted(cadre(name="李\x00芳"))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert any("U+0000" in d["problem"] for d in error["details"]), error


def test_exactly_the_control_characters_of_the_rule_are_refused() -> None:
    """Unicode's C0 and C1 controls and DEL (the Cc category), but tab and line breaks."""
    for code in range(0x250):
        char = chr(code)
        refused = unicodedata.category(char) == "Cc" and char not in "\t\n\r"
        try:
            PairingCreate.model_validate({"subject_id": f"s{char}1", "cadre_id": "c-1"})
        except ValidationError as exc:
            assert refused, f"U+{code:04X} refused: {exc}"
            assert f"U+{code:04X}" in str(exc)
        else:
            assert not refused, f"U+{code:04X} let through"


_CHARS = ["a", "马", "\t", "\n", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\xa0"]
_TEXTS = st.text(alphabet=st.sampled_from(_CHARS))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXTS, inner, max_size=4),
    max_leaves=30,
)


@given(_JSON)
def test_the_fast_pass_and_the_naming_walk_agree(value: Any) -> None:
    """The fast pass decides; the walk that names the place must refuse exactly what it refuses."""
    try:
        bodies._walk(value, "", 0)
    except PydanticCustomError:
        walked = False
    else:
        walked = True
    assert bodies._fine(value, 0) is walked
