"""What each child of `carepair up` finds in its environment: its settings and its own secrets only.

A child inherits the launcher's environment less every `CAREPAIR_*` variable its settings do
not read and every secret; the launcher then hands it its own secrets. So the gateway holds its
token and nothing else, and no service holds another's token or NATS password.
"""

from __future__ import annotations

import importlib
import types
import typing
from collections.abc import Mapping

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

PREFIX = "CAREPAIR_"


def settings_class(name: str) -> type[BaseSettings]:
    """A process's settings class, `services.<name>.settings.<Name>Settings`."""
    # Found by the roster name, so that a new service needs no line here.
    module = importlib.import_module(f"services.{name}.settings")
    found: type[BaseSettings] = getattr(module, f"{name.capitalize()}Settings")
    return found


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return SecretStr in typing.get_args(annotation)
    return annotation is SecretStr


def readable(cls: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads that hold no secret."""
    return {f"{PREFIX}{field.upper()}" for field, info in cls.model_fields.items() if not _is_secret(info)}


def inherited(base: Mapping[str, str], keep: set[str]) -> dict[str, str]:
    """`base` without any `CAREPAIR_*` variable outside `keep`."""
    return {k: v for k, v in base.items() if not k.startswith(PREFIX) or k in keep}
