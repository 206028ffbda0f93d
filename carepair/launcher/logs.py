"""The pipes that carry each child's output to the log writer, which the launcher keeps open."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from carepair.launcher.environments import inherited
from carepair.launcher.supervisor import ChildSpec

WRITER = "log writer"


class LogPipes:
    """One pipe per child; the launcher holds both ends, so a restarted child or writer finds it."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self._read: dict[str, int] = {}
        self._write: dict[str, int] = {}
        for name in paths:
            # Not inheritable: each child gets only its own writing end, as its stdout and stderr.
            self._read[name], self._write[name] = os.pipe()

    def child(self, name: str, command: Sequence[str], env: Mapping[str, str]) -> ChildSpec:
        """A child whose stdout and stderr go down its pipe into its log."""
        return ChildSpec(name, tuple(command), dict(env), self.paths[name], stdout=self._write[name])

    def writer(self, max_bytes: int, backups: int) -> ChildSpec:
        """The log writer process, reading every pipe."""
        pipes = [f"{self._read[name]}:{path}" for name, path in self.paths.items()]
        command = [sys.executable, "-m", "carepair.launcher.logwriter", "--max-bytes", str(max_bytes)]
        return ChildSpec(
            WRITER,
            (*command, "--backups", str(backups), *pipes),
            inherited(os.environ, set()),  # it needs no setting and no secret
            log=None,
            pass_fds=tuple(self._read.values()),
            # It outlives a killed launcher until the children, which die with it, have written
            # their last lines; the end of every pipe then ends it.
            die_with_launcher=False,
        )

    def close_writing_ends(self) -> None:
        """Lets the writer reach the end of each pipe once the children have exited."""
        for fd in self._write.values():
            os.close(fd)
        self._write.clear()

    def close(self) -> None:
        """Closes what is left of every pipe, once the writer has ended."""
        self.close_writing_ends()
        for fd in self._read.values():
            os.close(fd)
        self._read.clear()
