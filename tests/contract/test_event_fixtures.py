"""Every stored schema version of every event still opens: the fixtures stand for stored data.

A contract that gains a version keeps its old fixture and needs an upcaster that brings it to
the new one; `python -m tests.fixtures.make_event_fixtures` adds the new version's fixture.
"""

from __future__ import annotations

import json

import pytest

from shared.contracts import CONTRACTS
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.fixtures.make_event_fixtures import fixture_path

CASES = [
    (event_type, version)
    for event_type in CONTRACTS.types()
    for version in range(1, CONTRACTS.payload_class(event_type).schema_version + 1)
]


@pytest.mark.parametrize(("event_type", "version"), CASES)
def test_a_stored_version_upcasts_and_validates(event_type: str, version: int) -> None:
    path = fixture_path(event_type, version)
    assert path.exists(), (
        f"no fixture for {event_type} v{version}: run python -m tests.fixtures.make_event_fixtures"
    )
    stored = json.loads(path.read_text(encoding="utf-8"))
    data = CONTRACTS.upcast(event_type, version, stored)
    payload = CONTRACTS.payload_class(event_type).model_validate(data)
    assert payload.event_type == event_type


@pytest.mark.parametrize("event_type", CONTRACTS.types())
async def test_the_current_version_survives_sealing_and_opening(event_type: str) -> None:
    cls = CONTRACTS.payload_class(event_type)
    stored = json.loads(fixture_path(event_type, cls.schema_version).read_text(encoding="utf-8"))
    payload = cls.model_validate(stored)
    sealer = PayloadSealer(MemoryKeyStore())
    [sealed] = await sealer.seal_many([payload])
    [(opened, erased)] = await sealer.unseal_many([sealed])
    assert not erased
    assert cls.model_validate(opened) == payload
