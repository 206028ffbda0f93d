"""Public event contracts: one module per producer, all filed in `CONTRACTS`.

Producers and consumers import the same classes from here, so they cannot drift.
"""

from shared.contracts import pairing, visits  # noqa: F401 - registers the contracts
from shared.contracts.base import (
    ERASED,
    ContractRegistry,
    EventPayload,
    Personal,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from shared.contracts.introspection import check_contract
from shared.contracts.registry import CONTRACTS

for _event_type in CONTRACTS.types():
    # A marker whose owner is not a top-level field fails here, at import, not at first write.
    check_contract(CONTRACTS.payload_class(_event_type))

__all__ = [
    "CONTRACTS",
    "ERASED",
    "ContractRegistry",
    "EventPayload",
    "Personal",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
]
