"""A log file rotates by size between two lines and keeps a few rotated files, newest first."""

from __future__ import annotations

from pathlib import Path

from carepair.launcher.logwriter import RotatingLog


def _line(n: int) -> bytes:
    return f"line {n:03d} ........\n".encode()  # 19 bytes


def _files(path: Path) -> list[bytes]:
    """The current file and each rotated one, oldest last."""
    found = [path, *sorted(path.parent.glob(f"{path.name}.*"), key=lambda p: int(p.suffix[1:]))]
    return [p.read_bytes() for p in found]


def test_a_log_rotates_between_lines_and_keeps_its_backups_newest_first(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "visits.log", max_bytes=40, backups=2)
    log.write(b"".join(_line(n) for n in range(7)))  # 19 bytes a line: two lines to a file
    log.close()
    assert _files(tmp_path / "visits.log") == [
        _line(6),
        _line(4) + _line(5),
        _line(2) + _line(3),
    ]  # lines 0 and 1 went with the oldest file


def test_a_line_longer_than_the_limit_gets_a_file_of_its_own(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "nats-server.log", max_bytes=40, backups=3)
    long = b"x" * 100 + b"\n"
    log.write(_line(1) + long + _line(2))
    log.close()
    assert _files(tmp_path / "nats-server.log") == [_line(2), long, _line(1)]


def test_a_log_that_exists_is_appended_to_and_counts_towards_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "pairing.log"
    path.write_bytes(_line(1))
    RotatingLog(path, max_bytes=40, backups=1).write(_line(2) + _line(3))
    assert _files(path) == [_line(3), _line(1) + _line(2)]


def test_with_no_backups_a_full_log_starts_over(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "gateway.log", max_bytes=40, backups=0)
    log.write(b"".join(_line(n) for n in range(5)))
    log.close()
    assert _files(tmp_path / "gateway.log") == [_line(4)]
