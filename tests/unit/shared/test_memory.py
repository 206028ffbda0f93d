"""A started service moves its start-up objects out of the collector's full passes."""

from __future__ import annotations

import gc

from shared.runtime.memory import freeze_startup_objects


def test_start_up_objects_are_frozen_and_later_garbage_is_still_collected() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000  # modules, classes and the like, not a handful

        class Node:
            def __init__(self) -> None:
                self.other: Node | None = None

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after start-up: only the collector frees it
        del a, b
        assert gc.collect() >= 2
    finally:
        gc.unfreeze()
