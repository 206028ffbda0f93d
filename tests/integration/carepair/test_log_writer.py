"""The log writer process: lines from several pipes into their logs, until every pipe ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_writer_copies_each_pipe_into_its_log_rotating_and_ends_with_the_pipes(tmp_path: Path) -> None:
    pipes = {name: os.pipe() for name in ("visits", "nats")}
    logs = {"visits": tmp_path / "visits.log", "nats": tmp_path / "nats" / "nats-server.log"}
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "carepair.launcher.logwriter",
            "--max-bytes",
            "100",
            "--backups",
            "5",
            *(f"{pipes[name][0]}:{logs[name]}" for name in pipes),
        ],
        pass_fds=[read for read, _ in pipes.values()],
    )
    for read, _ in pipes.values():
        os.close(read)
    # About 40 bytes a line: two to a file, four files of them, all of them kept.
    lines = {
        name: [f'{{"event": "line {n}", "from": "{name}"}}\n'.encode() for n in range(8)] for name in pipes
    }
    for n in range(8):
        for name, (_, write) in pipes.items():
            # A line may arrive in pieces: the writer still rotates only between whole lines.
            os.write(write, lines[name][n][:10])
            os.write(write, lines[name][n][10:])
    os.write(pipes["visits"][1], b"a last line, without its end")
    for _, write in pipes.values():
        os.close(write)
    assert writer.wait(30) == 0  # the end of every pipe ends it
    for name, log in logs.items():
        files = [log.with_name(f"{log.name}.{n}") for n in range(5, 0, -1)] + [log]
        assert not log.with_name(f"{log.name}.6").exists()
        content = [path.read_bytes() for path in files if path.exists()]
        assert all(len(part) <= 100 for part in content)
        assert all(part.endswith(b"\n") for part in content[:-1])
        assert b"".join(content) == b"".join(lines[name]) + (
            b"a last line, without its end" if name == "visits" else b""
        )
