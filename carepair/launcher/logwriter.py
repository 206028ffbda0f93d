"""The log writer process: copies each child's output into its log file and rotates it by size."""

from __future__ import annotations

import argparse
import os
import selectors
from pathlib import Path

CHUNK = 65536


class RotatingLog:
    """An appended file that moves to `<name>.1` (`.1` to `.2`, …) before it would pass `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - open until close()
        self._size = os.fstat(self._file.fileno()).st_size

    def write(self, data: bytes) -> None:
        """Appends `data`, rotating between two lines; a line longer than the limit gets a file alone."""
        start = cut = 0  # data[start:cut] is bound for the current file
        while cut < len(data):
            newline = data.find(b"\n", cut)
            end = len(data) if newline < 0 else newline + 1
            if self._size + (end - start) > self.max_bytes and self._size + (cut - start) > 0:
                self._append(data[start:cut])
                self._rotate()
                start = cut
            cut = end
        self._append(data[start:])

    def _append(self, data: bytes) -> None:
        if data:
            self._file.write(data)
            self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        if self.backups:
            for n in range(self.backups - 1, 0, -1):
                older = self._backup(n)
                if older.exists():
                    os.replace(older, self._backup(n + 1))
            os.replace(self.path, self._backup(1))
        self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 - open until close()
        self._size = 0

    def _backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def close(self) -> None:
        self._file.close()


def pump(logs: dict[int, RotatingLog]) -> None:
    """Copies whole lines from each pipe into its log until every pipe is closed at the writing end."""
    held = {fd: b"" for fd in logs}  # the start of a line whose end has not come yet
    with selectors.DefaultSelector() as selector:
        for fd in logs:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                fd = int(key.fd)
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    selector.unregister(fd)
                    logs[fd].write(held.pop(fd))
                    continue
                data = held[fd] + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) >= CHUNK:
                    cut = len(data)  # a line too long to hold back any further
                logs[fd].write(data[:cut])
                held[fd] = data[cut:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carepair-logs", description=__doc__)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--backups", type=int, required=True)
    parser.add_argument("pipes", nargs="+", metavar="FD:PATH", help="a pipe to read and the log it fills")
    args = parser.parse_args(argv)
    logs = {}
    for pipe in args.pipes:
        fd, _, path = pipe.partition(":")
        logs[int(fd)] = RotatingLog(Path(path), args.max_bytes, args.backups)
    try:
        pump(logs)
    finally:
        for log in logs.values():
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
