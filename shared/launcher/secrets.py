"""The embedded mode's secrets: generated once under the data directory, never placeholders."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

TOKEN_HOLDERS = ("pairing", "visits", "notify", "reporting", "gateway")


def _read_or_create(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(make + "\n")
    return make


def embedded_secrets(data_dir: Path) -> tuple[str, dict[str, str]]:
    """Returns the master key (base64) and a token per service, creating them on first start."""
    folder = data_dir / "secrets"
    master = _read_or_create(folder / "master.key", base64.b64encode(secrets.token_bytes(32)).decode())
    tokens = {
        name: _read_or_create(folder / f"{name}.token", secrets.token_urlsafe(32)) for name in TOKEN_HOLDERS
    }
    return master, tokens
