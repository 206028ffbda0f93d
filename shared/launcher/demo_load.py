"""Loads the demo county in a process of its own, so that stopping carepair stops the load at once."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.launcher.demo import load_demo
from shared.launcher.secrets import OPERATOR, embedded_secrets
from shared.settings import programme_clock


def command(data_dir: Path, gateway: str, pairing: str) -> list[str]:
    """How the launcher runs this module; the token is read here, never passed on a command line."""
    return [sys.executable, "-m", __name__, str(data_dir), gateway, pairing]


def main(argv: list[str]) -> int:
    data_dir, gateway, pairing = Path(argv[0]), argv[1], argv[2]
    # The launcher checked CAREPAIR_TIMEZONE before it started anything; this reads the same.
    load_demo(data_dir, gateway, pairing, embedded_secrets(data_dir).tokens[OPERATOR], programme_clock())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
