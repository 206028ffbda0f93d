"""The embedded mode's secrets: generated once under the data directory, never placeholders."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from shared.roster import ROSTER, SERVICE_NAMES

SERVICES = SERVICE_NAMES  # each has a NATS password and a signing key
TOKEN_HOLDERS = tuple(m.name for m in ROSTER)  # the processes carepair up runs
OPERATOR = "operator"  # people's tools: `carepair import`, the demo loader, curl


def _read_or_create(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(make + "\n")
    return make


@dataclass(frozen=True)
class EmbeddedSecrets:
    """Every secret of one data directory; the launcher hands each process only its own."""

    master_key: str
    tokens: dict[str, str]
    nats_passwords: dict[str, str]
    signing_keys: dict[str, str]


def embedded_secrets(data_dir: Path) -> EmbeddedSecrets:
    """Reads the data directory's secrets, creating each one on first start."""
    folder = data_dir / "secrets"
    return EmbeddedSecrets(
        master_key=_read_or_create(
            folder / "master.key", base64.b64encode(secrets.token_bytes(32)).decode()
        ),
        tokens={
            name: _read_or_create(folder / f"{name}.token", secrets.token_urlsafe(32))
            for name in (*TOKEN_HOLDERS, OPERATOR)
        },
        nats_passwords={
            name: _read_or_create(folder / f"nats-{name}.password", secrets.token_urlsafe(32))
            for name in SERVICES
        },
        signing_keys={
            name: _read_or_create(folder / f"signing-{name}.key", secrets.token_urlsafe(32))
            for name in SERVICES
        },
    )
