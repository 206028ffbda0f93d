"""Finds the fields of a payload class marked `Personal`, and checks the markers' owners."""

from __future__ import annotations

import collections.abc as cabc
import types
from functools import cache
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel

from shared.contracts.base import Personal

EACH = "*"
"""A path segment meaning every element of an array (or every value of an object)."""

Segment = str | int

_SEQUENCES = (list, set, frozenset, cabc.Sequence, cabc.MutableSequence, cabc.Set, cabc.Iterable)
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)


class PersonalContractError(TypeError):
    """A misdeclared personal-data marker: a programming error in an event contract."""


class PersonalField(NamedTuple):
    """A marked field: its path from the root payload and the root field naming its owner."""

    path: tuple[Segment, ...]
    owner: str

    @property
    def dotted(self) -> str:
        return ".".join(str(s) for s in self.path)


def personal_fields(payload_cls: type[BaseModel]) -> list[PersonalField]:
    """Returns every marked field of `payload_cls`, nested models and collections included."""
    return list(_personal_fields(payload_cls))


def contract_fields(payload_cls: type[BaseModel]) -> tuple[PersonalField, ...]:
    """The marked fields as a shared tuple (no copy): for the sealer's hot path."""
    return _personal_fields(payload_cls)


def check_contract(payload_cls: type[BaseModel]) -> None:
    """Raises `PersonalContractError` unless every marker's owner is a plain top-level field."""
    _check_contract(payload_cls)


@cache
def _check_contract(payload_cls: type[BaseModel]) -> None:
    name = payload_cls.__name__
    top = payload_cls.model_fields
    for field in _personal_fields(payload_cls):
        if field.owner not in top:
            raise PersonalContractError(
                f"{name}.{field.dotted} is marked Personal({field.owner!r}), but {field.owner!r} "
                f"is not a top-level field of {name} (its fields: {', '.join(top)})"
            )
        if field.path == (field.owner,):
            raise PersonalContractError(
                f"{name}.{field.owner} names its own owner: an owner id must stay in clear"
            )
    owners = {f.owner for f in _personal_fields(payload_cls)}
    for field in _personal_fields(payload_cls):
        if field.path[0] in owners:
            raise PersonalContractError(
                f"{name}.{field.dotted} is personal, but {field.path[0]!r} holds an owner id"
            )


@cache
def _personal_fields(payload_cls: type[BaseModel]) -> tuple[PersonalField, ...]:
    found: dict[tuple[Segment, ...], str] = {}
    for field in _model(payload_cls, (), (), probing=False):
        if found.setdefault(field.path, field.owner) != field.owner:
            raise PersonalContractError(
                f"{payload_cls.__name__}.{field.dotted} has two owners: "
                f"{found[field.path]!r} and {field.owner!r}"
            )
    paths = list(found)
    for path in paths:
        for other in paths:
            if len(other) > len(path) and other[: len(path)] == path:
                raise PersonalContractError(
                    f"{payload_cls.__name__}: {'.'.join(map(str, other))} is marked inside "
                    f"{'.'.join(map(str, path))}, which is already sealed whole"
                )
    return tuple(PersonalField(p, o) for p, o in found.items())


def _model(
    cls: type[BaseModel], path: tuple[Segment, ...], stack: tuple[type, ...], probing: bool
) -> cabc.Iterator[PersonalField]:
    if cls not in stack:
        for name, info in cls.model_fields.items():
            metadata = tuple(info.metadata)
            yield from _walk(info.annotation, metadata, (*path, name), (*stack, cls), probing)
    elif not probing and any(True for _ in _model(cls, (), (), probing=True)):
        # A path template cannot reach every depth of a recursive model: refuse rather than
        # leave the deeper levels in clear.
        raise PersonalContractError(
            f"{cls.__name__} is recursive and holds personal fields, which is not supported; "
            "mark the recursive field Personal as a whole instead"
        )


def _walk(
    tp: Any,
    metadata: tuple[Any, ...],
    path: tuple[Segment, ...],
    stack: tuple[type, ...],
    probing: bool,
) -> cabc.Iterator[PersonalField]:
    markers = {m.owner for m in metadata if isinstance(m, Personal)}
    if len(markers) > 1:
        raise PersonalContractError(f"{'.'.join(map(str, path))} has two owners: {markers}")
    if markers:
        yield PersonalField(path, markers.pop())
        return
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        yield from _walk(args[0], args[1:], path, stack, probing)
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _walk(arg, (), path, stack, probing)
    elif origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            yield from _walk(args[0], (), (*path, EACH), stack, probing)
        else:
            for index, arg in enumerate(args):
                yield from _walk(arg, (), (*path, index), stack, probing)
    elif origin in _MAPPINGS:
        if len(args) == 2:
            yield from _walk(args[1], (), (*path, EACH), stack, probing)
    elif origin in _SEQUENCES:
        if args:
            yield from _walk(args[0], (), (*path, EACH), stack, probing)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield from _model(tp, path, stack, probing)
