"""Reads an operator's .xlsx or .csv: the header row checked, then each row with its Excel row number.

- .xlsx is read with openpyxl in read-only mode (large files stream); the sheet named like the
  template's (关爱对象 / 结对干部) is read if there is one, otherwise the first sheet.
- .csv may be UTF-8 with or without a BOM, or GBK / GB18030 (what Excel in China writes): the
  encoding is found from the bytes. Commas or tabs separate the cells.
- The header row is the first of the first ten rows that holds a known column header, so a title
  row above the table is allowed. Unknown headers, repeated ones and missing required ones are
  reported together, as one `FileProblem`, before any row is read.
- A row's number is the one Excel shows at its left (the header row is usually row 1); empty
  rows are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.pairing.entrypoints.importer.template import SHEETS, Kind, Sheet, header_key
from services.pairing.entrypoints.importer.values import Cell, is_blank, normalise

HEADER_SEARCH_ROWS = 10


class FileProblem(Exception):
    """The file cannot be imported at all: unreadable, wrong format, or a wrong header row."""


@dataclass(frozen=True)
class Row:
    number: int  # as Excel shows it
    values: dict[str, Cell]  # the template's header → the cell, blank cells left out


@dataclass
class Table:
    path: Path
    sheet: Sheet
    headers: list[str]  # the template's headers, in the file's order
    rows: Iterator[Row]
    encoding: str = ""  # for a CSV: how it was decoded


def open_table(path: Path, kind: Kind) -> Table:
    """The file's header row checked against the template; raises `FileProblem` when it cannot be used."""
    sheet = SHEETS[kind]
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileProblem(f"找不到文件 {path}")
    if path.is_dir():
        raise FileProblem(f"{path} 是文件夹，不是文件")
    if suffix in (".xlsx", ".xlsm"):
        records, encoding = _xlsx_records(path, sheet), ""
    elif suffix in (".csv", ".txt"):
        records, encoding = _csv_records(path)
    elif suffix in (".xls", ".et", ".wps"):
        raise FileProblem(f"不支持{suffix}格式：请在Excel或WPS中“另存为”.xlsx（Excel工作簿）或CSV后再导入")
    else:
        raise FileProblem(f"不认识的文件类型“{suffix or '无扩展名'}”：请使用.xlsx或.csv文件")
    _, raw_headers = _find_header(records, sheet)
    columns = _check_headers(raw_headers, sheet)
    return Table(path, sheet, [h for h in columns if h], _rows(records, columns), encoding)


# --- reading the cells -------------------------------------------------------------------

Record = tuple[int, tuple[Cell, ...]]


def _xlsx_records(path: Path, sheet: Sheet) -> Iterator[Record]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise FileProblem(f"无法读取Excel文件 {path.name}：{exc}。请确认它是.xlsx格式且未损坏") from None
    except Exception as exc:  # zipfile.BadZipFile and friends: anything that is not a workbook
        raise FileProblem(f"{path.name} 不是有效的.xlsx文件（{type(exc).__name__}）") from None
    names = book.sheetnames
    wanted = next((n for n in names if header_key(n) == header_key(sheet.title)), None)
    if wanted is None:
        wanted = next((n for n in names if n != "填写说明"), names[0])
    worksheet = book[wanted]
    reset = getattr(worksheet, "reset_dimensions", None)
    if reset is not None:  # some programs write a wrong size into the file; read what is there
        reset()

    def records() -> Iterator[Record]:
        try:
            number = 0
            for values in worksheet.iter_rows(values_only=True):
                number += 1
                yield number, tuple(values)
        finally:
            book.close()

    return records()


def _csv_records(path: Path) -> tuple[Iterator[Record], str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"无法读取文件 {path}：{exc.strerror}") from None
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def records() -> Iterator[Record]:
        # Excel shows one row per record, whatever line breaks are inside quoted cells.
        try:
            for number, values in enumerate(reader, start=1):
                yield number, tuple(values)
        except csv.Error as exc:
            raise FileProblem(f"CSV文件第{reader.line_num}行格式有误：{exc}") from None

    return records(), encoding


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-8 (with or without BOM), else GB18030 (GBK's superset)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise FileProblem("无法识别CSV文件的编码：请在Excel中另存为“CSV UTF-8”或.xlsx后再导入") from None


# --- the header row -----------------------------------------------------------------------


def _lookup(sheet: Sheet) -> dict[str, str]:
    keys: dict[str, str] = {}
    for column in sheet.columns:
        for name in (column.header, *column.aliases):
            keys.setdefault(header_key(name), column.header)
    return keys


def _find_header(records: Iterator[Record], sheet: Sheet) -> tuple[int, tuple[Cell, ...]]:
    keys = _lookup(sheet)
    first: Record | None = None
    for number, values in records:
        if first is None and any(not is_blank(v) for v in values):
            first = (number, values)
        if any(isinstance(v, str) and header_key(v) in keys for v in values):
            return number, values
        if number >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise FileProblem("文件是空的：没有表头，也没有数据")
    shown = "、".join(normalise(str(v)) for v in first[1] if not is_blank(v))[:200]
    raise FileProblem(
        f"前{HEADER_SEARCH_ROWS}行中找不到表头（第{first[0]}行为：{shown}）。"
        f"请使用 carepair import template {sheet.kind.value} 生成的模板，第1行为列名"
    )


def _check_headers(raw: tuple[Cell, ...], sheet: Sheet) -> list[str]:
    """The template header of each column ('' for a column without a header), or `FileProblem`."""
    keys = _lookup(sheet)
    columns: list[str] = []
    unknown: list[str] = []
    seen: dict[str, int] = {}
    repeated: list[str] = []
    for index, value in enumerate(raw):
        if is_blank(value):
            columns.append("")
            continue
        text = normalise(str(value))
        header = keys.get(header_key(text))
        if header is None:
            unknown.append(text)
            columns.append("")
            continue
        if header in seen:
            repeated.append(header)
            columns.append("")
            continue
        seen[header] = index
        columns.append(header)
    missing = [c.header for c in sheet.columns if c.must_be_present and c.header not in seen]
    problems: list[str] = []
    if unknown:
        problems.append("不认识的列：" + "、".join(f"“{u}”" for u in unknown))
    if repeated:
        problems.append("重复的列：" + "、".join(f"“{r}”" for r in repeated))
    if missing:
        problems.append("缺少必需的列：" + "、".join(f"“{m}”" for m in missing))
    if problems:
        other = next(s for k, s in SHEETS.items() if k is not sheet.kind)
        other_keys = _lookup(other)
        recognised = sum(1 for v in raw if isinstance(v, str) and header_key(v) in keys)
        recognised_other = sum(1 for v in raw if isinstance(v, str) and header_key(v) in other_keys)
        if recognised_other > recognised:
            problems.append(
                f"这个文件像是“{other.title}”的表格：请用 carepair import {other.kind.value} 导入"
            )
        problems.append("可用的列：" + "、".join(sheet.headers))
        raise FileProblem("表头有误，未导入任何数据。\n" + "\n".join(problems))
    return columns


def _rows(records: Iterator[Record], columns: list[str]) -> Iterator[Row]:
    for number, values in records:
        cells: dict[str, Cell] = {}
        for header, value in zip(columns, values, strict=False):
            if header and not is_blank(value):
                cells[header] = value.strip() if isinstance(value, str) else value
        if cells:
            yield Row(number, cells)
