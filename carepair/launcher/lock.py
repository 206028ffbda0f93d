"""One `carepair up` per data directory: an exclusive lock on a file in it, held while it runs."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "carepair.lock"


class DataDirInUse(Exception):
    """Another launcher holds the data directory's lock."""


class DataDirLock:
    """The lock on `<data dir>/carepair.lock`, which names the pid of the launcher that holds it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock, or raises `DataDirInUse` naming the pid that holds it."""
        # The lock lives with this descriptor, which no child inherits (Python opens file
        # descriptors non-inheritable): it ends with the launcher, even one killed with kill -9.
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"another carepair up (pid {holder}) is using {self.data_dir}; stop it first, "
                "or give this one another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
