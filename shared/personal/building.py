"""Builds payload objects from unsealed data, keeping erased fields as `ERASED`."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from shared.contracts.base import ERASED

M = TypeVar("M", bound=BaseModel)


def build_payload(payload_cls: type[M], data: dict[str, Any], erased: bool = False) -> M:
    """Validates `data` into `payload_cls`; when `erased`, builds it so `ERASED` values survive.

    Erased payloads are assembled with `model_construct`, nested models included; every part
    that holds no `ERASED` value is still validated (types coerced, constraints checked), but
    model-level validators do not run on them.
    """
    if not erased:
        return payload_cls.model_validate(data)
    return _construct(payload_cls, data)


def contains_erased(value: Any) -> bool:
    """Tells whether a JSON-like value holds `ERASED` anywhere."""
    if value is ERASED:
        return True
    if isinstance(value, dict):
        return any(contains_erased(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_erased(v) for v in value)
    return False


def _construct(cls: type[M], data: dict[str, Any]) -> M:
    values: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        key = name if name in data else info.alias
        if key is None or key not in data:
            continue  # model_construct fills the default
        tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        values[name] = _build(tp, data[key])
    return cls.model_construct(**values)


def _build(tp: Any, raw: Any) -> Any:
    if raw is ERASED:
        return ERASED
    if not contains_erased(raw):
        return _adapter(tp).validate_python(raw)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _build(args[0], raw)
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        others = [a for a in args if a is not type(None) and a not in models]
        if isinstance(raw, dict) and models:
            return _construct(models[0], raw)
        return _build(others[0], raw) if len(others) == 1 else raw
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(raw, dict):
        return _construct(tp, raw)
    if isinstance(raw, list):
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_build(args[0], v) for v in raw)
            return tuple(_build(a, v) for a, v in zip(args, raw, strict=False))
        item = args[0] if args else Any
        built = [_build(item, v) for v in raw]
        return origin(built) if origin in (set, frozenset) else built
    if isinstance(raw, dict) and len(args) == 2:
        return {k: _build(args[1], v) for k, v in raw.items()}
    return raw


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(tp)
    except TypeError:  # an unhashable annotation
        return TypeAdapter(tp)


@cache
def _cached_adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)
