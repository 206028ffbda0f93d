"""The launcher's terminal: the signals that ask it to stop, and the lines it writes."""

from __future__ import annotations

import os
import signal
import sys

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """Turns Ctrl-C, SIGTERM and a closed terminal (SIGHUP) into a request that the launcher heeds."""

    def __init__(self) -> None:
        self.received: int | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._receive)

    def _receive(self, signum: int, _frame: object) -> None:
        self.received = signum

    @property
    def requested(self) -> bool:
        return self.received is not None


def say(line: str, problem: bool = False) -> None:
    """Writes a line to stdout, or stderr for a `problem`; a closed terminal must not stop the launcher."""
    try:
        print(line, file=sys.stderr if problem else sys.stdout, flush=True)
    except OSError:
        _silence()


def _silence() -> None:
    # The terminal was closed: writing to it fails from now on, and so would the flush at exit,
    # which turns the exit status into 120. Everything written from here on is dropped.
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, sys.stdout.fileno())
    os.dup2(sink, sys.stderr.fileno())
    os.close(sink)
