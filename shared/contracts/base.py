"""The base of every public event contract: frozen payloads, the personal-data marker, the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class Personal:
    """Marks a payload field as personal data owned by the person whose id is in field `owner`.

    `owner` names a field of the *root* payload (the event's own top-level model) that holds
    the owner's person id. A guardian's fields nested in a subject's event therefore say
    `Personal(owner="subject_id")`: they live and die with the subject's record.
    """

    owner: str


class _Erased:
    """The value a personal field reads as once its owner's data key has been destroyed."""

    _instance: _Erased | None = None

    def __new__(cls) -> _Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ERASED"

    def __bool__(self) -> bool:
        return False


ERASED: Any = _Erased()


class EventPayload(BaseModel):
    """A frozen event payload; subclasses name their type, schema version and producer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    producer: ClassVar[str] = ""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """An event type that no contract in the registry declares."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}: no contract declares it")
        self.event_type = event_type


class UnsupportedSchemaVersion(ValueError):
    """A stored schema version newer than the contract, or with no upcaster chain to it."""


class ContractRegistry:
    """Holds every event contract by type name, and the upcasters between schema versions."""

    def __init__(self) -> None:
        self._classes: dict[str, type[EventPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, producer: str) -> Callable[[type[EventPayload]], type[EventPayload]]:
        """Returns a class decorator that files a payload class under `producer`."""

        def decorate(cls: type[EventPayload]) -> type[EventPayload]:
            name = cls.__dict__.get("event_type") or cls.__name__
            if name in self._classes and self._classes[name] is not cls:
                raise ValueError(f"event type {name!r} is declared twice")
            cls.event_type = name
            cls.producer = producer
            self._classes[name] = cls
            return cls

        return decorate

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Returns a decorator that files a pure function taking version N data to N+1."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def payload_class(self, event_type: str) -> type[EventPayload]:
        try:
            return self._classes[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def knows(self, event_type: str) -> bool:
        return event_type in self._classes

    def types(self) -> list[str]:
        return sorted(self._classes)

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Brings stored data of `version` up to the contract's current schema version."""
        current = self.payload_class(event_type).schema_version
        if version > current:
            raise UnsupportedSchemaVersion(
                f"{event_type} v{version} is newer than this code's v{current}: upgrade the reader"
            )
        while version < current:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnsupportedSchemaVersion(f"no upcaster for {event_type} v{version} → v{version + 1}")
            data = step(dict(data))
            version += 1
        return data
