"""Sealing and unsealing event payloads: nested, optional and listed personal fields."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict

from shared.contracts.base import ERASED, EventPayload, Personal
from shared.personal import (
    ENVELOPE,
    CipherError,
    DataKey,
    MalformedSealedField,
    MemoryKeyStore,
    PayloadSealer,
    PersonalContractError,
    PersonErased,
    TamperedCiphertext,
    build_payload,
)


class Guardian(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: Annotated[str, Personal("subject_id")]
    phone: Annotated[str | None, Personal("subject_id")] = None
    relation: str


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    address: Annotated[str, Personal("subject_id")]


class SubjectRegistered(EventPayload):
    subject_id: str
    cadre_id: str
    name: Annotated[str, Personal("subject_id")]
    id_number: Annotated[str | None, Personal("subject_id")] = None
    disability: Annotated[dict[str, int] | None, Personal("subject_id")] = None
    birth_year: int
    registered_on: date
    guardian: Guardian | None = None
    contacts: list[Contact] = []
    aliases: tuple[Annotated[str, Personal("subject_id")], ...] = ()
    cadre_name: Annotated[str, Personal("cadre_id")]


class Note(EventPayload):
    subject_id: str | None = None
    text: Annotated[str | None, Personal("subject_id")] = None
    tags: dict[str, str] = {}


def subject(subject_id: str = "p-subject", **changes: Any) -> SubjectRegistered:
    values: dict[str, Any] = dict(
        subject_id=subject_id,
        cadre_id="p-cadre",
        name="王小明",
        id_number=None,
        disability={"grade": 2},
        birth_year=2012,
        registered_on=date(2025, 3, 1),
        guardian=Guardian(name="王芳", phone="13912345678", relation="mother"),
        contacts=[
            Contact(label="home", address="幸福路 12 号"),
            Contact(label="school", address="Second Primary School"),
        ],
        aliases=("小明", "Ming"),
        cadre_name="李干部",
    )
    values.update(changes)
    return SubjectRegistered(**values)


SECRETS = ["王小明", "王芳", "13912345678", "幸福路", "Second Primary", "小明", "Ming", "李干部"]


class SpyKeyStore(MemoryKeyStore):
    """Counts the calls a sealer makes."""

    def __init__(self, algorithm: str = "aes-256-gcm") -> None:
        super().__init__(algorithm)
        self.reads: list[set[str]] = []
        self.writes: list[str] = []
        self.batches: list[set[str]] = []  # the calls of keys_for_writing

    async def keys_for_reading(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        ids = list(person_ids)
        self.reads.append(set(ids))
        return await super().keys_for_reading(ids)

    async def key_for_writing(self, person_id: str) -> DataKey:
        self.writes.append(person_id)
        return await super().key_for_writing(person_id)

    async def keys_for_writing(self, person_ids: Iterable[str]) -> dict[str, DataKey | None]:
        ids = list(person_ids)
        self.batches.append(set(ids))
        return await super().keys_for_writing(ids)


@pytest.fixture
def keystore() -> SpyKeyStore:
    return SpyKeyStore()


@pytest.fixture
def sealer(keystore: SpyKeyStore) -> PayloadSealer:
    return PayloadSealer(keystore)


async def test_seal_replaces_marked_fields_only(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    for path in (["name"], ["disability"], ["guardian", "name"], ["guardian", "phone"],
                 ["contacts", 0, "address"], ["contacts", 1, "address"], ["aliases", 0]):
        node: Any = sealed
        for seg in path:
            node = node[seg]
        assert set(node) == {ENVELOPE}, path
        assert node[ENVELOPE]["v"] == 1 and node[ENVELOPE]["alg"] == "aes-256-gcm"
        assert node[ENVELOPE]["owner"] == "p-subject"
    assert sealed["cadre_name"][ENVELOPE]["owner"] == "p-cadre"
    assert sealed["id_number"] is None  # None stays None, unencrypted
    assert sealed["guardian"]["relation"] == "mother"
    assert [c["label"] for c in sealed["contacts"]] == ["home", "school"]
    assert (sealed["subject_id"], sealed["birth_year"]) == ("p-subject", 2012)
    assert sealed["registered_on"] == "2025-03-01"


async def test_sealed_json_contains_no_plaintext(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    for ensure_ascii in (True, False):
        text = json.dumps(sealed, ensure_ascii=ensure_ascii)
        for secret in SECRETS:
            assert secret not in text
        assert '"grade"' not in text


async def test_round_trip(sealer: PayloadSealer) -> None:
    original = subject()
    sealed = json.loads(json.dumps(await sealer.seal(original)))  # as stored
    data, erased = await sealer.unseal(sealed)
    assert erased is False
    assert data == original.model_dump(mode="json")
    assert build_payload(SubjectRegistered, data, erased) == original


async def test_unseal_leaves_its_input_untouched(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    before = copy.deepcopy(sealed)
    await sealer.unseal(sealed)
    assert sealed == before


async def test_destroyed_owner_reads_erased_other_owner_still_reads(
    sealer: PayloadSealer, keystore: SpyKeyStore
) -> None:
    sealed = await sealer.seal(subject())
    await keystore.destroy("p-subject")
    data, erased = await sealer.unseal(sealed)
    assert erased is True
    assert data["name"] is ERASED and data["disability"] is ERASED
    assert data["guardian"]["name"] is ERASED and data["guardian"]["phone"] is ERASED
    assert [c["address"] for c in data["contacts"]] == [ERASED, ERASED]
    assert data["aliases"] == [ERASED, ERASED]
    assert data["cadre_name"] == "李干部"  # the cadre's key is untouched
    assert data["guardian"]["relation"] == "mother" and data["id_number"] is None


async def test_build_payload_keeps_erased_values(
    sealer: PayloadSealer, keystore: SpyKeyStore
) -> None:
    sealed = await sealer.seal(subject())
    await keystore.destroy("p-subject")
    payload = build_payload(SubjectRegistered, *(await sealer.unseal(sealed)))
    assert isinstance(payload, SubjectRegistered)
    assert payload.name is ERASED and payload.disability is ERASED
    assert isinstance(payload.guardian, Guardian)
    assert payload.guardian.name is ERASED and payload.guardian.relation == "mother"
    assert all(isinstance(c, Contact) for c in payload.contacts)
    assert [c.address for c in payload.contacts] == [ERASED, ERASED]
    assert [c.label for c in payload.contacts] == ["home", "school"]
    assert payload.aliases == (ERASED, ERASED)
    assert payload.registered_on == date(2025, 3, 1)  # untouched parts are still validated
    assert payload.cadre_name == "李干部" and payload.id_number is None


def test_build_payload_validates_when_not_erased() -> None:
    data = subject().model_dump(mode="json")
    data["birth_year"] = "not a year"
    with pytest.raises(ValueError):
        build_payload(SubjectRegistered, data, erased=False)


async def test_erased_person_cannot_be_written_about(
    sealer: PayloadSealer, keystore: SpyKeyStore
) -> None:
    await keystore.destroy("p-subject")
    with pytest.raises(PersonErased):
        await sealer.seal(subject())
    # an event with nothing to seal needs no key
    assert await sealer.seal(Note(subject_id="p-subject")) == {
        "subject_id": "p-subject", "text": None, "tags": {}
    }


async def test_empty_owner_is_a_programming_error(sealer: PayloadSealer) -> None:
    with pytest.raises(PersonalContractError, match="SubjectRegistered.name .*'subject_id'"):
        await sealer.seal(subject(subject_id=""))
    with pytest.raises(PersonalContractError, match="Note.text"):
        await sealer.seal(Note(text="orphaned text"))
    assert (await sealer.seal(Note()))["text"] is None


async def test_reserved_key_in_plaintext_is_refused(sealer: PayloadSealer) -> None:
    with pytest.raises(PersonalContractError, match="reserved key"):
        await sealer.seal(Note(subject_id="p1", tags={ENVELOPE: "spoof"}))


def _envelope(sealed: dict[str, Any], *path: Any) -> dict[str, Any]:
    node: Any = sealed
    for seg in path:
        node = node[seg]
    return node


async def test_altered_ciphertext_is_detected(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    inner = _envelope(sealed, "name", ENVELOPE)
    ct = inner["ct"]
    inner["ct"] = ct[:20] + ("A" if ct[20] != "A" else "B") + ct[21:]
    with pytest.raises(TamperedCiphertext, match="name of person 'p-subject'"):
        await sealer.unseal(sealed)


async def test_moved_ciphertext_is_detected(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    sealed["name"], sealed["guardian"]["name"] = sealed["guardian"]["name"], sealed["name"]
    with pytest.raises(TamperedCiphertext):
        await sealer.unseal(sealed)
    sealed = await sealer.seal(subject())
    contacts = sealed["contacts"]
    contacts[0]["address"], contacts[1]["address"] = contacts[1]["address"], contacts[0]["address"]
    with pytest.raises(TamperedCiphertext):
        await sealer.unseal(sealed)


async def test_relabelled_owner_is_detected(sealer: PayloadSealer) -> None:
    sealed = await sealer.seal(subject())
    _envelope(sealed, "name", ENVELOPE)["owner"] = "p-cadre"
    with pytest.raises(TamperedCiphertext):
        await sealer.unseal(sealed)


@pytest.mark.parametrize(
    "bad",
    [
        {ENVELOPE: {"v": 1, "alg": "aes-256-gcm", "owner": "p"}},
        {ENVELOPE: {"v": 2, "alg": "aes-256-gcm", "owner": "p", "ct": ""}},
        {ENVELOPE: {"v": 1, "alg": "aes-256-gcm", "owner": "", "ct": ""}},
        {ENVELOPE: "text"},
        {ENVELOPE: {"v": 1, "alg": "aes-256-gcm", "owner": "p", "ct": ""}, "extra": 1},
    ],
)
async def test_malformed_envelope_is_refused(sealer: PayloadSealer, bad: dict[str, Any]) -> None:
    with pytest.raises(MalformedSealedField):
        await sealer.unseal({"subject_id": "p", "x": [bad]})


async def test_batches_ask_the_keystore_once(sealer: PayloadSealer, keystore: SpyKeyStore) -> None:
    existing = await keystore.key_for_writing("p-a")
    payloads = [subject("p-a"), subject("p-b"), subject("p-c", cadre_id="p-a")]
    sealed = await sealer.seal_many(payloads)
    # One call for every owner: it keeps the key a person has and makes the new persons' keys.
    assert keystore.batches == [{"p-a", "p-b", "p-c", "p-cadre"}] and keystore.reads == []
    keys = await keystore.keys_for_reading(["p-a", "p-b", "p-c", "p-cadre"])
    assert keys["p-a"] == existing and all(keys.values())
    keystore.reads.clear()
    keystore.batches.clear()
    await sealer.seal_many(payloads)
    assert keystore.batches == [{"p-a", "p-b", "p-c", "p-cadre"}]
    assert await keystore.keys_for_reading(["p-a", "p-b", "p-c", "p-cadre"]) == keys
    keystore.reads.clear()
    await keystore.destroy("p-b")
    results = await sealer.unseal_many(sealed)
    assert keystore.reads == [{"p-a", "p-b", "p-c", "p-cadre"}]
    assert [erased for _, erased in results] == [False, True, False]
    assert [build_payload(SubjectRegistered, *r) for r in results][0] == payloads[0]
    assert results[1][0]["name"] is ERASED and results[2][0]["cadre_name"] == "李干部"


async def test_nothing_sealed_means_no_keystore_call(
    sealer: PayloadSealer, keystore: SpyKeyStore
) -> None:
    data, erased = await sealer.unseal({"a": [1, {"b": None}], "c": "d"})
    assert (data, erased) == ({"a": [1, {"b": None}], "c": "d"}, False)
    assert keystore.reads == []


class SubjectRegisteredV1(EventPayload):
    """An old shape: a full name and nested lists of guardians."""

    subject_id: str
    full_name: Annotated[str, Personal("subject_id")]
    households: list[list[Guardian]]


async def test_unseal_is_schema_agnostic(sealer: PayloadSealer) -> None:
    old = SubjectRegisteredV1(
        subject_id="p1",
        full_name="赵六",
        households=[[Guardian(name="赵母", relation="mother")], []],
    )
    stored = json.loads(json.dumps(await sealer.seal(old)))
    stored["added_later"] = {"deep": [stored.pop("full_name")]}  # not a shape any class knows
    with pytest.raises(TamperedCiphertext):  # moved: the path is bound
        await sealer.unseal(stored)
    stored = json.loads(json.dumps(await sealer.seal(old)))
    stored["unknown_field"] = {"x": [1, 2]}
    data, erased = await sealer.unseal(stored)
    assert not erased
    assert data["full_name"] == "赵六" and data["households"][0][0]["name"] == "赵母"
    assert data["unknown_field"] == {"x": [1, 2]}


async def test_sm4_sealer_round_trip() -> None:
    sealer = PayloadSealer(MemoryKeyStore("sm4-gcm"), algorithm="sm4-gcm")
    sealed = await sealer.seal(subject())
    assert sealed["name"][ENVELOPE]["alg"] == "sm4-gcm"
    data, _ = await sealer.unseal(sealed)
    assert build_payload(SubjectRegistered, data) == subject()


async def test_sealer_refuses_keys_of_another_algorithm() -> None:
    sealer = PayloadSealer(MemoryKeyStore("aes-256-gcm"), algorithm="sm4-gcm")
    with pytest.raises(CipherError, match="configure the key store"):
        await sealer.seal(subject())
