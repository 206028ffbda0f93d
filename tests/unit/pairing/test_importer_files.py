"""The importer's files: CSV in UTF-8 (with or without BOM) and GBK, .xlsx, the template, the report."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from services.pairing.entrypoints.importer import cli
from services.pairing.entrypoints.importer.cli import Outcome, Progress, Status, Summary, write_report
from services.pairing.entrypoints.importer.reader import FileProblem, decode, open_table
from services.pairing.entrypoints.importer.rows import Problem, prepare_all
from services.pairing.entrypoints.importer.template import CADRES, SUBJECTS, Kind, write_template
from tests.support.identity import resident_id
from tests.unit.pairing.test_importer import TODAY

HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "类别",
    "养育方式",
    "常住地县代码",
    "常住地乡镇代码",
    "常住地村代码",
]


def subject_values(name: str = "马小花", born: date = date(2014, 5, 17), serial: int = 10) -> list[str]:
    return [
        name,
        "女",
        f"{born:%Y/%-m/%-d}",
        resident_id("622925", born, True, serial),
        "孤儿",
        "社会散居",
        "622925",
        "622925100",
        "622925100201",
    ]


def write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize(
    "encoding, reported", [("utf-8-sig", "UTF-8 (BOM)"), ("utf-8", "UTF-8"), ("gbk", "GBK")]
)
def test_csv_in_each_encoding_reads_the_same(tmp_path: Path, encoding: str, reported: str) -> None:
    path = write_csv(
        tmp_path / "s.csv", [HEADERS, subject_values(), subject_values("王小明", serial=12)], encoding
    )
    table = open_table(path, Kind.subjects)
    assert table.encoding == reported
    rows = list(table.rows)
    assert [r.number for r in rows] == [2, 3]
    assert rows[0].values["姓名"] == "马小花" and rows[1].values["姓名"] == "王小明"
    prepared = prepare_all(Kind.subjects, rows, TODAY)
    assert all(p.ok for p in prepared), [p.problems for p in prepared]


def test_gbk_is_told_from_utf8_by_the_bytes() -> None:
    assert decode("姓名,性别".encode("gbk")) == ("姓名,性别", "GBK")
    assert decode("姓名,性别".encode()) == ("姓名,性别", "UTF-8")
    assert decode("\ufeff姓名".encode()) == ("姓名", "UTF-8 (BOM)")


def test_row_numbers_are_excels_even_past_empty_rows_and_a_title_row(tmp_path: Path) -> None:
    rows = [["和政县关爱对象名单"], HEADERS, subject_values(), [], ["", ""], subject_values("乙", serial=14)]
    table = open_table(write_csv(tmp_path / "s.csv", rows, "utf-8"), Kind.subjects)
    assert [r.number for r in table.rows] == [3, 6]


def test_tab_separated_text_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\n".join("\t".join(r) for r in [HEADERS, subject_values()]), encoding="utf-8")
    [row] = list(open_table(path, Kind.subjects).rows)
    assert row.values["性别"] == "女"


def test_unknown_and_missing_headers_are_one_clear_error(tmp_path: Path) -> None:
    headers = ["姓名", "性别", "生日", "身份证号", "类别", "备注", "常住地县代码"]
    path = write_csv(tmp_path / "s.csv", [headers, ["x"] * len(headers)], "utf-8")
    with pytest.raises(FileProblem) as caught:
        open_table(path, Kind.subjects)
    message = str(caught.value)
    assert "“生日”" in message and "“备注”" in message
    assert "缺少必需的列" in message and "“出生日期”" in message and "“常住地村代码”" in message


def test_a_cadres_sheet_given_as_subjects_is_recognised(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [CADRES.headers], "utf-8")
    with pytest.raises(FileProblem, match="carepair import cadres"):
        open_table(path, Kind.subjects)


def test_a_file_without_any_known_header_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["a", "b"], ["1", "2"]], "utf-8")
    with pytest.raises(FileProblem, match="找不到表头"):
        open_table(path, Kind.subjects)


@pytest.mark.parametrize("name", ["old.xls", "notes.docx"])
def test_other_formats_are_refused_with_what_to_do(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(FileProblem, match=r"\.xlsx"):
        open_table(path, Kind.subjects)


def test_a_broken_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(FileProblem):
        open_table(path, Kind.subjects)


@pytest.mark.parametrize("kind", list(Kind))
def test_the_template_round_trips(tmp_path: Path, kind: Kind) -> None:
    path = tmp_path / f"{kind.value}.xlsx"
    write_template(kind, path)
    sheet = SUBJECTS if kind is Kind.subjects else CADRES
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [sheet.title, "填写说明"]
    assert [c.value for c in book[sheet.title][1]] == sheet.headers
    explained = [row[0] for row in book["填写说明"].iter_rows(min_row=2, values_only=True)]
    assert set(sheet.headers) <= set(explained)
    table = open_table(path, kind)
    assert table.headers == sheet.headers
    [example] = prepare_all(kind, table.rows, TODAY)
    assert example.number == 2 and example.example
    assert example.ok, example.problems  # the example itself is a valid row


def test_an_xlsx_with_numbers_and_date_cells_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADERS, "联系电话", "残疾等级"])
    values: list[object] = list(subject_values())
    values[2] = datetime(2014, 5, 17)
    values[6:9] = [622925, 622925100, 622925100201]
    sheet.append([*values, 13800138000, 2])
    path = tmp_path / "s.xlsx"
    book.save(path)
    [prepared] = prepare_all(Kind.subjects, open_table(path, Kind.subjects).rows, TODAY)
    assert prepared.ok, prepared.problems
    assert prepared.body["birth_date"] == "2014-05-17"
    assert prepared.body["phone"] == "13800138000" and prepared.body["disability_level"] == 2
    assert prepared.body["residence"]["village_code"] == "622925100201"


def test_the_report_is_utf8_with_bom_and_lists_row_column_problem(tmp_path: Path) -> None:
    summary = Summary(Kind.subjects, tmp_path / "s.xlsx")
    summary.outcomes = [
        Outcome(7, Status.failed, (Problem("身份证号", "校验位不正确"), Problem("性别", "请填写男、女"))),
        Outcome(3, Status.imported),
        Outcome(4, Status.skipped),
        Outcome(5, Status.not_sent, (Problem("", "未导入：服务不可用"),)),
    ]
    path = tmp_path / "report.csv"
    write_report(summary, path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["行号", "列", "问题"],
        ["5", "", "未导入：服务不可用"],
        ["7", "身份证号", "校验位不正确"],
        ["7", "性别", "请填写男、女"],
    ]


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(stream, 4, live=True)
    for status in (Status.imported, Status.imported, Status.skipped, Status.failed):
        bar.add(status)
    bar.draw(final=True)
    out = stream.getvalue()
    assert out.startswith("\r导入 ") and out.endswith("\n")
    assert "导入 4/4 [" + "#" * Progress.WIDTH + "] 成功 2 跳过 1 错误 1" in out


def test_the_progress_writes_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(stream, 100, live=False)
    for _ in range(100):
        bar.add(Status.imported)
    bar.draw(final=True)
    lines = stream.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1].startswith("导入 100/100")


def test_the_template_command_writes_and_will_not_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.xlsx"
    assert cli.main(["template", "cadres", str(path)]) == 0
    assert path.exists()
    assert cli.main(["template", "cadres", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["template", "cadres", str(path), "--force"]) == 0


def test_a_missing_file_or_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["subjects", str(tmp_path / "none.xlsx")]) == 2
    path = write_csv(tmp_path / "s.csv", [HEADERS, subject_values()], "utf-8")
    assert cli.main(["subjects", str(path), "--token-file", str(tmp_path / "missing.token")]) == 2
    assert "令牌" in capsys.readouterr().err


def test_a_bad_header_exits_2_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "s.csv", [["姓名", "年龄"], ["马小花", "9"]], "utf-8")
    token = tmp_path / "t.token"
    token.write_text("x", encoding="utf-8")
    code = cli.main(["subjects", str(path), "--token-file", str(token), "--url", "http://127.0.0.1:9"])
    assert code == 2
    assert "“年龄”" in capsys.readouterr().err


def test_a_server_that_is_down_leaves_every_good_row_not_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = subject_values("乙", serial=12)
    bad[1] = "未知"
    path = write_csv(tmp_path / "s.csv", [HEADERS, subject_values(), bad], "utf-8")
    token = tmp_path / "t.token"
    token.write_text("x", encoding="utf-8")
    report = tmp_path / "r.csv"
    code = cli.main(
        [
            "subjects",
            str(path),
            "--token-file",
            str(token),
            "--url",
            "http://127.0.0.1:9",
            "--report",
            str(report),
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "无法连接配对服务" in out and "未发送       1" in out
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[1][0] == "2" and rows[1][2].startswith("未导入：无法连接配对服务")
    assert rows[2][:2] == ["3", "性别"]


def test_the_docs_list_every_column() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "import.md").read_text(encoding="utf-8")
    for sheet in (SUBJECTS, CADRES):
        for header in sheet.headers:
            assert f"| {header} |" in docs, header
