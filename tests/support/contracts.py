"""Event contracts used only by the tests, in a registry of their own."""

from __future__ import annotations

from typing import Annotated

from shared.contracts.base import ContractRegistry, EventPayload, Personal

TEST_CONTRACTS = ContractRegistry()
register = TEST_CONTRACTS.register("testsvc")


@register
class ThingHappened(EventPayload):
    """A test event with one personal field."""

    person_id: str
    n: int
    secret_name: Annotated[str, Personal("person_id")]


@register
class ThingRenamed(EventPayload):
    """A test event at schema version 2: v1 called the field `label`."""

    schema_version = 2
    thing: str
    title: str


@TEST_CONTRACTS.upcaster("ThingRenamed", 1)
def _label_to_title(data: dict) -> dict:
    data["title"] = data.pop("label")
    return data


def thing(n: int, person: str = "p-1", name: str = "张三") -> ThingHappened:
    return ThingHappened(person_id=person, n=n, secret_name=name)
