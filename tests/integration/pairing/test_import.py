"""`carepair import` against the real pairing app in-process: bad rows reported, re-runs safe."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI

from services.pairing.bootstrap import create_app
from services.pairing.entrypoints.importer.cli import Status, Summary, import_file
from services.pairing.entrypoints.importer.rows import Checker
from services.pairing.entrypoints.importer.template import CADRES, SUBJECTS, Kind
from services.pairing.settings import PairingSettings
from shared.clock import ManualClock
from tests.support.identity import resident_id, wrong_check_digit
from tests.support.pairing_world import TODAY
from tests.support.service_app import OPERATOR_TOKEN, running_app, settings_values

pytestmark = [pytest.mark.nats]

TOWNSHIP = "622925100"
VILLAGE = "622925100201"


def subject(n: int, **changes: Any) -> dict[str, Any]:
    born = date(2010, 1, 1) + timedelta(days=n)
    female = n % 2 == 0
    row: dict[str, Any] = {
        "户编号": str(n // 2 + 1),  # two children per household
        "姓名": f"马{n}",
        "性别": "女" if female else "男",
        "出生日期": f"{born:%Y/%-m/%-d}",
        "身份证号": resident_id("622925", born, female, n % 100),
        "类别": "孤儿" if n % 3 else "事实无人抚养儿童",
        "父母情况": "" if n % 3 else "服刑在押、失联",
        "养育方式": "社会散居",
        "在读阶段": "小学",
        "常住地县代码": "622925",
        "常住地乡镇代码": TOWNSHIP,
        "常住地村代码": VILLAGE,
        "监护人姓名": "马奶奶",
        "监护人性别": "女",
        "监护人关系": "祖母",
        "监护人电话": "13800138000",
    }
    row.update(changes)
    return row


def cadre(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "姓名": f"干部{n}",
        "性别": "女" if n % 2 == 0 else "男",
        "出生日期": date(1970, 1, 1) + timedelta(days=97 * n),
        "联系电话": f"139{n:08d}",
        "单位编号": f"u-{n % 4}",
        "单位名称": "和政县民政局",
        "职务": "干部",
        "职务职级层次": "乡科级",
        "职务职级": "副职",
        "是否党员": "是",
        "干部类别": "乡镇、县直单位、人民团体、国有企业领导干部",
        "联系村代码": VILLAGE,
    }
    row.update(changes)
    return row


def write_xlsx(path: Path, headers: list[str], rows: list[dict[str, Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) or None for h in headers])
    book.save(path)
    return path


def write_csv(
    path: Path, headers: list[str], rows: list[dict[str, Any]], encoding: str = "utf-8-sig"
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([[str(row.get(h) or "") for h in headers] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def problems(summary: Summary) -> list[tuple[int, str, str]]:
    return summary.report_rows()


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def running(
    request: pytest.FixtureRequest, tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[Running]:
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url").render_as_string(hide_password=False)
    settings = PairingSettings(**settings_values(tmp_path, nats_url, stream_name, database_url))
    app = create_app(settings, ManualClock.on(TODAY))
    async with running_app(app) as client:
        yield Running(app, client)


@pytest.fixture
async def sqlite_running(
    tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[Running]:
    settings = PairingSettings(**settings_values(tmp_path, nats_url, stream_name))
    app = create_app(settings, ManualClock.on(TODAY))
    async with running_app(app) as client:
        yield Running(app, client)


def bad_subjects() -> dict[int, dict[str, Any]]:
    """Three bad rows: two checked here, two refused by the service's eligibility rules."""
    adult = date(2000, 3, 3)
    return {
        # local: a wrong check digit and an unknown gender, both reported
        5: {"身份证号": wrong_check_digit(subject(5)["身份证号"]), "性别": "未知"},
        # the service: an orphan who is already an adult
        12: {"出生日期": "2000/3/3", "身份证号": resident_id("622925", adult, False, 12), "性别": "男"},
        # the service: a 特困 person in concentrated support
        20: {
            "类别": "特困人员",
            "特困": "农村",
            "养育方式": "集中供养",
            "出生日期": "1950/1/21",
            "身份证号": resident_id("622925", date(1950, 1, 21), True, 20),
            "性别": "女",
        },
    }


def subjects_file(tmp_path: Path) -> Path:
    bad = bad_subjects()
    rows = [subject(n, **bad.get(n, {})) for n in range(30)]
    return write_xlsx(tmp_path / "关爱对象.xlsx", SUBJECTS.headers, rows)


async def test_subjects_from_xlsx_good_rows_in_bad_rows_reported_and_a_rerun_adds_nothing(
    running: Running, tmp_path: Path
) -> None:
    path = subjects_file(tmp_path)
    progress = io.StringIO()
    first = await import_file(Kind.subjects, path, running.client, today=TODAY, progress=progress)
    counts = first.counts
    assert (counts[Status.imported], counts[Status.skipped], counts[Status.failed]) == (27, 0, 3), problems(
        first
    )
    assert first.total == 30 and not first.halted
    reported = problems(first)
    # Row numbers as Excel shows them: the header is row 1, the sheet's row n is person n-2.
    by_row: dict[int, dict[str, str]] = {}
    for number, column, message in reported:
        by_row.setdefault(number, {})[column] = message
    assert set(by_row) == {7, 14, 22}
    assert set(by_row[7]) == {"身份证号", "性别"}
    assert "校验位" in by_row[7]["身份证号"] and "男、女" in by_row[7]["性别"]
    assert set(by_row[14]) == {"出生日期"} and "18周岁" in by_row[14]["出生日期"]
    assert set(by_row[22]) == {"养育方式"} and "集中供养" in by_row[22]["养育方式"]
    assert "导入 30/30" in progress.getvalue()

    again = await import_file(Kind.subjects, path, running.client, today=TODAY)
    counts = again.counts
    assert (counts[Status.imported], counts[Status.skipped], counts[Status.failed]) == (0, 27, 3)
    assert problems(again) == reported

    # Rows of one 户编号 are one household: one cadre pairs with both children, not with another's.
    ids = {o.number - 2: o.id for o in first.outcomes if o.status is Status.imported}
    woman = await running.client.post("/cadres", json=CADRE_BODY)
    assert woman.status_code == 201, woman.text
    cadre_id = woman.json()["id"]
    for person in (0, 1):
        paired = await running.client.post(
            "/pairings", json={"subject_id": ids[person], "cadre_id": cadre_id}
        )
        assert paired.status_code == 201, paired.text
    other = await running.client.post("/pairings", json={"subject_id": ids[2], "cadre_id": cadre_id})
    assert other.json()["error"]["code"] == "cadre_already_paired"


CADRE_BODY = {
    "name": "李芳",
    "gender": "female",
    "birth_date": "1980-03-01",
    "unit_id": "u-civil",
    "unit_name": "县民政局",
    "rank": {"tier": "township", "title": "principal"},
    "party_member": True,
    "kind": "unit_leader",
    "links": {"village_codes": [VILLAGE]},
}


async def test_cadres_from_xlsx_and_again(running: Running, tmp_path: Path) -> None:
    bad: dict[int, dict[str, Any]] = {
        3: {"职务职级层次": "县处级", "职务职级": "一级科员"},  # no such title in that tier
        9: {"是否党员": "不详", "联系村代码": "62292510"},  # two problems
        15: {"姓名": "干部14", "出生日期": date(1970, 1, 1) + timedelta(days=97 * 14), "单位编号": "u-2"},
    }
    rows = [cadre(n, **bad.get(n, {})) for n in range(30)]
    path = write_xlsx(tmp_path / "干部.xlsx", CADRES.headers, rows)
    first = await import_file(Kind.cadres, path, running.client, today=TODAY)
    counts = first.counts
    assert (counts[Status.imported], counts[Status.skipped], counts[Status.failed]) == (27, 0, 3), problems(
        first
    )
    reported = problems(first)
    assert {(n, c) for n, c, _ in reported} == {
        (5, "职务职级"),
        (11, "是否党员"),
        (11, "联系村代码"),
        (17, "姓名"),
    }
    assert any("第16行" in m for n, _, m in reported if n == 17)

    again = await import_file(Kind.cadres, path, running.client, today=TODAY)
    counts = again.counts
    assert (counts[Status.imported], counts[Status.skipped], counts[Status.failed]) == (0, 27, 3)
    assert problems(again) == reported


async def test_a_person_registered_earlier_through_the_api_is_skipped(
    sqlite_running: Running, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", SUBJECTS.headers, [subject(n) for n in range(3)])
    first = await import_file(Kind.subjects, path, sqlite_running.client, today=TODAY)
    assert first.counts[Status.imported] == 3
    more = write_csv(tmp_path / "more.csv", SUBJECTS.headers, [subject(n) for n in range(5)], encoding="gbk")
    second = await import_file(Kind.subjects, more, sqlite_running.client, today=TODAY)
    assert (second.counts[Status.imported], second.counts[Status.skipped]) == (2, 3)
    assert second.complete


class FailingAfter(httpx.AsyncBaseTransport):
    """The service goes away after `posts` requests that register: every later one cannot connect."""

    def __init__(self, inner: httpx.AsyncBaseTransport, posts: int) -> None:
        self.inner = inner
        self.left = posts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if self.left <= 0:
                raise httpx.ConnectError("connection refused", request=request)
            self.left -= 1
        return await self.inner.handle_async_request(request)


async def test_a_service_that_goes_down_loses_nothing_and_a_rerun_finishes(
    sqlite_running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.pairing.entrypoints.importer.cli.asyncio.sleep", _no_wait)
    path = write_csv(tmp_path / "s.csv", SUBJECTS.headers, [subject(n) for n in range(20)])
    transport = FailingAfter(httpx.ASGITransport(app=sqlite_running.app), posts=2)
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}", "Carepair-Actor": "operator:test"}
    async with httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as flaky:
        broken = await import_file(Kind.subjects, path, flaky, today=TODAY, concurrency=2, batch_size=4)
    counts = broken.counts
    assert counts[Status.imported] == 8 and counts[Status.not_sent] == 12 and counts[Status.failed] == 0
    assert "无法连接配对服务" in broken.halted
    assert all(m.startswith("未导入：无法连接配对服务") for _, _, m in problems(broken))

    rerun = await import_file(Kind.subjects, path, sqlite_running.client, today=TODAY)
    counts = rerun.counts
    assert (counts[Status.imported], counts[Status.skipped], counts[Status.failed]) == (12, 8, 0)
    assert rerun.complete


async def test_a_token_the_service_refuses_stops_the_run(sqlite_running: Running, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", SUBJECTS.headers, [subject(n) for n in range(5)])
    transport = httpx.ASGITransport(app=sqlite_running.app)
    headers = {"Authorization": "Bearer not-the-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as wrong:
        summary = await import_file(Kind.subjects, path, wrong, today=TODAY)
    assert summary.counts[Status.not_sent] == 5 and "令牌" in summary.halted
    assert not summary.complete


async def _no_wait(_: float) -> None:
    return None


async def test_two_thousand_rows_of_csv_import_with_progress(sqlite_running: Running, tmp_path: Path) -> None:
    rows = [subject(n, 户编号=str(n)) for n in range(2000)]
    path = write_csv(tmp_path / "big.csv", SUBJECTS.headers, rows)
    progress = io.StringIO()
    summary = await import_file(Kind.subjects, path, sqlite_running.client, today=TODAY, progress=progress)
    assert summary.counts[Status.imported] == 2000, problems(summary)[:5]
    lines = progress.getvalue().splitlines()
    assert len(lines) >= 10
    assert lines[-1].startswith("导入 2000/2000 [") and "成功 2000 跳过 0 错误 0" in lines[-1]


class Busy(httpx.AsyncBaseTransport):
    """In front of the real app: answers 413 to a batch over `most` rows, and the first time
    each of `busy` rows arrives, answers that row 503 as a service whose database restarts."""

    def __init__(self, app: FastAPI, *, most: int, busy: set[str]) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.most = most
        self.busy = set(busy)
        self.sizes: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return await self.inner.handle_async_request(request)
        rows = json.loads(request.content)["rows"]
        self.sizes.append(len(rows))
        if len(rows) > self.most:
            return httpx.Response(413, json={"error": {"code": "too_large", "message": "too large"}})
        held = [i for i, row in enumerate(rows) if row["name"] in self.busy]
        self.busy -= {rows[i]["name"] for i in held}
        passed = [row for i, row in enumerate(rows) if i not in held]
        answered = iter([])
        if passed:
            forwarded = httpx.Request("POST", request.url, headers=request.headers, json={"rows": passed})
            response = await self.inner.handle_async_request(forwarded)
            await response.aread()
            answered = iter(response.json()["results"])
        unavailable = {"code": "store_unavailable", "message": "the database is unavailable"}
        results = [
            {"index": i, "status": 503, "error": unavailable} if i in held else {**next(answered), "index": i}
            for i in range(len(rows))
        ]
        return httpx.Response(200, json={"results": results})


async def test_rows_the_service_could_not_take_are_sent_again_and_a_batch_too_large_is_halved(
    sqlite_running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.pairing.entrypoints.importer.cli.asyncio.sleep", _no_wait)
    rows = [subject(n) for n in range(10)]
    path = write_csv(tmp_path / "s.csv", SUBJECTS.headers, rows)
    transport = Busy(sqlite_running.app, most=3, busy={rows[1]["姓名"], rows[7]["姓名"]})
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}", "Carepair-Actor": "operator:test"}
    async with httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers) as client:
        summary = await import_file(Kind.subjects, path, client, today=TODAY, concurrency=1, batch_size=5)
    assert summary.counts[Status.imported] == 10 and summary.complete, problems(summary)
    assert transport.sizes[0] == 5 and max(transport.sizes) == 5 and 1 in transport.sizes
    rerun = await import_file(Kind.subjects, path, sqlite_running.client, today=TODAY)
    assert rerun.counts[Status.skipped] == 10  # each registered once, the rows sent again included


async def test_good_rows_are_sent_while_the_rest_of_the_file_is_checked(
    sqlite_running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[int] = []
    first_post: list[int] = []
    original = Checker.prepare

    def recording(self: Checker, row: Any) -> Any:
        checked.append(row.number)
        return original(self, row)

    class Watching(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=sqlite_running.app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and not first_post:
                first_post.append(len(checked))
            return await self.inner.handle_async_request(request)

    monkeypatch.setattr(Checker, "prepare", recording)
    rows = [subject(n) for n in range(200)]
    rows[150]["身份证号"] = "62292520100101001"  # one bad row late in the file
    path = write_csv(tmp_path / "s.csv", SUBJECTS.headers, rows)
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}", "Carepair-Actor": "operator:test"}
    async with httpx.AsyncClient(transport=Watching(), base_url="http://svc", headers=headers) as client:
        summary = await import_file(Kind.subjects, path, client, today=TODAY, batch_size=10)
    assert first_post and first_post[0] < 200  # the first batch left before the last row was checked
    assert checked == sorted(checked) and len(checked) == 200
    assert (summary.counts[Status.imported], summary.counts[Status.failed]) == (199, 1)
    assert [number for number, _, _ in problems(summary)] == [152]  # row 2 is the first data row
