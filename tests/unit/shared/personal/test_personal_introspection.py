"""Finding personal fields in payload classes, and checking their owners."""

from __future__ import annotations

from typing import Annotated, Optional

import pytest
from pydantic import BaseModel

from shared.contracts.base import EventPayload, Personal
from shared.personal import (
    EACH,
    MemoryKeyStore,
    PayloadSealer,
    PersonalContractError,
    check_contract,
    personal_fields,
)

S = Personal("subject_id")


class Guardian(BaseModel):
    name: Annotated[str, S]
    relation: str


class Household(BaseModel):
    head: Guardian
    members: list[Guardian] = []


class Everything(EventPayload):
    subject_id: str
    other_id: str | None = None
    plain: str = ""
    name: Annotated[str, S]
    maybe: Annotated[str | None, S] = None
    old_style: Optional[Annotated[str, S]] = None  # noqa: UP045 - the old spelling is walked too
    guardian: Guardian | None = None
    guardians: tuple[Guardian, ...] = ()
    households: list[Household] = []
    by_role: dict[str, Guardian] = {}
    pair: tuple[Annotated[str, Personal("other_id")], int] | None = None
    whole: Annotated[list[str], S] = []


def test_every_kind_of_nesting_is_found() -> None:
    found = {f.path: f.owner for f in personal_fields(Everything)}
    assert found == {
        ("name",): "subject_id",
        ("maybe",): "subject_id",
        ("old_style",): "subject_id",
        ("guardian", "name"): "subject_id",
        ("guardians", EACH, "name"): "subject_id",
        ("households", EACH, "head", "name"): "subject_id",
        ("households", EACH, "members", EACH, "name"): "subject_id",
        ("by_role", EACH, "name"): "subject_id",
        ("pair", 0): "other_id",
        ("whole",): "subject_id",
    }
    check_contract(Everything)
    assert personal_fields(Everything)[0].dotted == "name"


async def test_every_kind_of_nesting_is_sealed() -> None:
    sealer = PayloadSealer(MemoryKeyStore())
    g = Guardian(name="secret-g", relation="aunt")
    payload = Everything(
        subject_id="s", other_id="o", name="secret-n", old_style="secret-o", guardian=g,
        guardians=(g,), households=[Household(head=g, members=[g, g])], by_role={"r": g},
        pair=("secret-p", 7), whole=["secret-w"],
    )
    sealed = await sealer.seal(payload)
    assert "secret" not in str(sealed)
    assert sealed["pair"][1] == 7 and sealed["pair"][0]["$personal"]["owner"] == "o"
    data, erased = await sealer.unseal(sealed)
    assert not erased and Everything.model_validate(data) == payload


class Recursive(BaseModel):
    note: Annotated[str, S]
    children: list[Recursive] = []


class Tree(EventPayload):
    subject_id: str
    root: Recursive


class Thread(EventPayload):
    subject_id: str
    text: Annotated[str, S]
    replies: list[Thread] = []


class Category(BaseModel):
    label: str
    children: list[Category] = []


class Tagged(EventPayload):
    subject_id: str
    name: Annotated[str, S]
    category: Category
    notes: Annotated[list[Recursive], S] = []  # sealed whole: depth does not matter


@pytest.mark.parametrize("cls", [Tree, Thread])
def test_recursive_models_with_personal_fields_are_refused(cls: type[EventPayload]) -> None:
    # a path template cannot reach every depth, and deeper levels must not stay in clear
    with pytest.raises(PersonalContractError, match="is recursive"):
        personal_fields(cls)


def test_recursive_models_without_personal_fields_are_fine() -> None:
    assert {f.path for f in personal_fields(Tagged)} == {("name",), ("notes",)}


class NestedOwner(BaseModel):
    guardian_id: str
    name: Annotated[str, Personal("guardian_id")]


class OwnerNotAtRoot(EventPayload):
    subject_id: str
    guardian: NestedOwner


class OwnerIsPersonal(EventPayload):
    subject_id: Annotated[str, Personal("subject_id")]


class OwnerSealedByAnother(EventPayload):
    subject_id: str
    cadre_id: Annotated[str, S]
    cadre_name: Annotated[str, Personal("cadre_id")]


class TwoOwners(EventPayload):
    subject_id: str
    other_id: str
    name: Annotated[str, Personal("subject_id"), Personal("other_id")]


class SealedWholeAndInside(EventPayload):
    subject_id: str
    thing: Annotated[str, S] | Guardian


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (OwnerNotAtRoot, "'guardian_id' is not a top-level field of OwnerNotAtRoot"),
        (OwnerIsPersonal, "names its own owner"),
        (OwnerSealedByAnother, "'cadre_id' holds an owner id"),
        (TwoOwners, "two owners"),
        (SealedWholeAndInside, "already sealed whole"),
    ],
)
def test_misdeclared_contracts_are_refused(cls: type[EventPayload], message: str) -> None:
    with pytest.raises(PersonalContractError, match=message):
        check_contract(cls)


async def test_sealing_checks_the_contract() -> None:
    payload = OwnerNotAtRoot(subject_id="s", guardian=NestedOwner(guardian_id="g", name="n"))
    with pytest.raises(PersonalContractError, match="not a top-level field"):
        await PayloadSealer(MemoryKeyStore()).seal(payload)
