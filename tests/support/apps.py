"""The roster's app factories, imported from the `module:factory` paths it declares."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from shared.roster import member


def app_factory(name: str) -> Callable[..., Any]:
    """The factory of the roster's process `name`, as `carepair up` and compose serve it."""
    module, _, attribute = member(name).app.partition(":")
    factory: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return factory
