"""The data directory's lock admits one launcher, names its pid to the next, and ends with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carepair.launcher.lock import DataDirInUse, DataDirLock


def test_a_held_lock_refuses_the_next_taker_naming_the_holder(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()
    try:
        holder = rf"another carepair up \(pid {os.getpid()}\) is using {tmp_path}"
        with pytest.raises(DataDirInUse, match=holder):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # released: the next one may take it
    second.release()
