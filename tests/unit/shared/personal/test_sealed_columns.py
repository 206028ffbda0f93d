"""A personal value in a read-model column is sealed there and opened by the query."""

from __future__ import annotations

import json

import pytest

from shared.contracts.base import ERASED
from shared.personal import (
    MalformedSealedField,
    MemoryKeyStore,
    PayloadSealer,
    SealedColumn,
    TamperedCiphertext,
)

NOTE = SealedColumn("visit_notes", "note")
PHONE = "13912345678"


async def test_a_sealed_value_holds_no_plaintext_and_opens_to_what_was_sealed() -> None:
    sealer = PayloadSealer(MemoryKeyStore())
    stored = await NOTE.seal(sealer, "s-1", f"监护人电话{PHONE}")
    assert PHONE not in json.dumps(stored, ensure_ascii=False)
    assert await NOTE.open(sealer, stored) == f"监护人电话{PHONE}"


async def test_many_values_of_several_owners_open_in_order_and_none_stays_none() -> None:
    sealer = PayloadSealer(MemoryKeyStore())
    stored = await NOTE.seal_many(sealer, [("s-1", "甲"), ("s-2", ["乙", 2]), ("s-1", {"k": "丙"})])
    assert await NOTE.open_many(sealer, [stored[2], None, stored[0], stored[1]]) == [
        {"k": "丙"},
        None,
        "甲",
        ["乙", 2],
    ]


async def test_an_erased_owners_value_opens_as_erased() -> None:
    keystore = MemoryKeyStore()
    sealer = PayloadSealer(keystore)
    kept, gone = await NOTE.seal_many(sealer, [("s-1", "留下"), ("s-2", "删除")])
    await keystore.destroy("s-2")
    assert await NOTE.open_many(sealer, [kept, gone]) == ["留下", ERASED]


async def test_a_value_moved_to_another_column_or_owner_fails_to_open() -> None:
    sealer = PayloadSealer(MemoryKeyStore())
    stored = await NOTE.seal(sealer, "s-1", "秘密")
    await NOTE.seal(sealer, "s-2", "别人的")
    with pytest.raises(TamperedCiphertext):
        await SealedColumn("visit_notes", "summary").open(sealer, stored)
    relabelled = {"$personal": {**stored["$personal"], "owner": "s-2"}}
    with pytest.raises(TamperedCiphertext):
        await NOTE.open(sealer, relabelled)


async def test_a_plain_value_in_a_sealed_column_is_refused() -> None:
    sealer = PayloadSealer(MemoryKeyStore())
    with pytest.raises(MalformedSealedField):
        await NOTE.open(sealer, {"note": "明文"})
