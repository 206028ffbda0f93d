"""`carepair import`: subjects or cadres from an operator's .xlsx / .csv, and the templates.

    carepair import template subjects|cadres FILE.xlsx [--force]
    carepair import subjects|cadres FILE [--url URL] [--token-file PATH] [--actor NAME]
                                          [--report REPORT.csv] [--batch-size 200]
                                          [--concurrency 2]

The whole file is read first (a file that cannot be used sends nothing); its rows are then
checked in order, and rows with problems are not sent. Good rows are sent to the pairing
service while the next ones are checked, in batches (`POST /subjects:batch`, `/cadres:batch`,
200 rows each, two in flight), and the service answers each row on its own. No id is chosen by
the importer: the service refuses a person it already has (same ID number; for a cadre, same
name, birth date and unit), and such a row is counted as 已存在，跳过. So a run that stopped
half-way, or the same file imported again, finishes without duplicates. Exit status: 0 every
row imported or skipped, 1 some rows were not imported (see the report), 2 the file (or the
token file) cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import httpx

from services.pairing.entrypoints.importer.reader import FileProblem, open_table
from services.pairing.entrypoints.importer.rows import (
    REFUSAL_COLUMNS,
    Checker,
    Prepared,
    Problem,
    is_example,
    prepare_all,
)
from services.pairing.entrypoints.importer.template import SHEETS, Kind, write_template
from shared.settings import programme_clock
from shared.web.batch import MAX_ROWS

DEFAULT_URL = "http://127.0.0.1:8081"
DEFAULT_CONCURRENCY = 2  # batches in flight: the service works on one while the next travels
DEFAULT_BATCH = 200  # rows a request
ATTEMPTS = 4
REQUEST_TIMEOUT = 30.0
ALREADY_THERE = {"subject_duplicate", "subject_exists", "cadre_duplicate", "cadre_exists"}
RETRY_STATUS = {429, 502, 503, 504}
REPORT_HEADER = ("行号", "列", "问题")
BATCH_PATHS = {Kind.subjects: "/subjects:batch", Kind.cadres: "/cadres:batch"}
NOUNS = {Kind.subjects: "关爱对象", Kind.cadres: "结对干部"}


class Status(StrEnum):
    imported = "imported"  # 成功
    skipped = "skipped"  # 已存在，跳过
    failed = "failed"  # 有问题，未导入
    not_sent = "not_sent"  # 未发送或未确认：再次运行即可


@dataclass(frozen=True)
class Outcome:
    number: int
    status: Status
    problems: tuple[Problem, ...] = ()
    id: str = ""


@dataclass
class Summary:
    kind: Kind
    path: Path
    total: int = 0  # data rows, the example row left out
    examples: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    halted: str = ""  # why sending stopped early (server down, token refused), if it did
    encoding: str = ""

    @property
    def counts(self) -> Counter[Status]:
        return Counter(o.status for o in self.outcomes)

    @property
    def complete(self) -> bool:
        counts = self.counts
        return counts[Status.failed] == 0 and counts[Status.not_sent] == 0

    def report_rows(self) -> list[tuple[int, str, str]]:
        rows: list[tuple[int, str, str]] = []
        for outcome in sorted(self.outcomes, key=lambda o: o.number):
            if outcome.status in (Status.failed, Status.not_sent):
                rows.extend((outcome.number, p.column, p.message) for p in outcome.problems)
        return rows


class Progress:
    """`导入 1234/5000 [#####     ] 成功 1200 跳过 20 错误 14` on stderr, redrawn in place.

    On a terminal the line is redrawn at most ten times a second; elsewhere (a log, a test)
    a line is written at every tenth of the work, so the output stays short.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO | None, total: int, *, live: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.live = stream is not None and (stream.isatty() if live is None else live)
        self.done = 0
        self.counts: Counter[Status] = Counter()
        self._drawn_at = 0.0
        self._last_tenth = -1

    def add(self, status: Status) -> None:
        self.done += 1
        self.counts[status] += 1
        self.draw()

    def line(self) -> str:
        filled = self.WIDTH * self.done // self.total if self.total else self.WIDTH
        bar = "#" * filled + " " * (self.WIDTH - filled)
        c = self.counts
        text = f"导入 {self.done}/{self.total} [{bar}] 成功 {c[Status.imported]} 跳过 {c[Status.skipped]}"
        text += f" 错误 {c[Status.failed]}"
        if c[Status.not_sent]:
            text += f" 未发送 {c[Status.not_sent]}"
        return text

    def draw(self, *, final: bool = False) -> None:
        if self.stream is None:
            return
        if self.live:
            now = time.monotonic()
            if final or now - self._drawn_at >= 0.1 or self.done == self.total:
                self._drawn_at = now
                self.stream.write("\r" + self.line() + ("\n" if final else ""))
                self.stream.flush()
            return
        tenth = 10 * self.done // self.total if self.total else 10
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()


@dataclass(frozen=True)
class Sending:
    """How rows travel: `batch_size` rows a request, `concurrency` requests in flight."""

    concurrency: int = DEFAULT_CONCURRENCY
    batch_size: int = DEFAULT_BATCH


class Halt(Exception):
    """Nothing more can be sent: the service is down or does not accept the token."""


# --- the core ------------------------------------------------------------------------------


def read_rows(kind: Kind, path: Path, today: date) -> tuple[list[Prepared], str]:
    """Every row of the file prepared; raises `FileProblem` when the file cannot be used."""
    table = open_table(path, kind)
    return prepare_all(kind, table.rows, today), table.encoding


async def import_file(
    kind: Kind,
    path: Path,
    client: httpx.AsyncClient,
    *,
    today: date,
    concurrency: int = DEFAULT_CONCURRENCY,
    batch_size: int = DEFAULT_BATCH,
    progress: TextIO | None = None,
    live: bool | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Reads, checks and sends the file's rows through `client` (its base URL and credentials).

    Raises `FileProblem` before anything is sent when the file cannot be used. The `summary`
    passed in (if any) is filled as rows finish, so an interrupted run can still report.
    """
    table = open_table(path, kind)
    raw = list(table.rows)  # the whole file read first: a file that cannot be used sends nothing
    summary = summary if summary is not None else Summary(kind, path)
    summary.encoding = table.encoding
    summary.examples = sum(1 for row in raw if is_example(row))
    summary.total = len(raw) - summary.examples
    bar = Progress(progress, summary.total, live=live)
    sender = Sender(kind, client, summary, bar)
    pending: list[Prepared] = []  # the good rows, in order, as they are checked
    batches: asyncio.Queue[list[Prepared] | None] = asyncio.Queue(maxsize=max(1, concurrency))
    checker = Checker(kind, today)

    async def check() -> None:
        """Checks the rows in order and hands each full batch of good rows to the senders."""
        chunk: list[Prepared] = []
        for count, row in enumerate(raw, start=1):
            item = checker.prepare(row)
            if item.example:
                continue
            if item.ok:
                pending.append(item)
                chunk.append(item)
            else:
                summary.outcomes.append(Outcome(item.number, Status.failed, tuple(item.problems)))
                bar.add(Status.failed)
            if len(chunk) >= batch_size:
                await batches.put(chunk)
                chunk = []
            elif count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the batches in flight move on while the rows are checked
        if chunk:
            await batches.put(chunk)

    async def checked_then_done() -> None:
        try:
            await check()
        finally:
            for _ in range(max(1, concurrency)):
                await batches.put(None)

    try:
        await asyncio.gather(checked_then_done(), sender.send_all(batches, concurrency))
    finally:
        sender.mark_unsent(pending)
        bar.draw(final=True)
    return summary


# Rows checked between two turns of the event loop, so that sending keeps pace with checking.
_YIELD_EVERY = 20


class Sender:
    def __init__(self, kind: Kind, client: httpx.AsyncClient, summary: Summary, bar: Progress) -> None:
        self.kind = kind
        self.client = client
        self.summary = summary
        self.bar = bar
        self.sheet = SHEETS[kind]
        self.finished: set[int] = set()

    async def check_reachable(self) -> None:
        try:
            await self.client.get("/healthz", timeout=10)
        except httpx.TransportError as exc:
            self.halt(self._unreachable(exc))

    def halt(self, reason: str) -> None:
        if not self.summary.halted:
            self.summary.halted = reason

    def _unreachable(self, exc: Exception) -> str:
        return (
            f"无法连接配对服务 {self.client.base_url}（{type(exc).__name__}）：请确认 carepair 已启动"
            "（carepair up），或用 --url 指定地址"
        )

    def record(self, outcome: Outcome) -> None:
        self.finished.add(outcome.number)
        self.summary.outcomes.append(outcome)
        self.bar.add(outcome.status)

    def mark_unsent(self, pending: list[Prepared]) -> None:
        reason = self.summary.halted or "导入被中断"
        for item in pending:
            if item.number not in self.finished:
                self.record(
                    Outcome(
                        item.number,
                        Status.not_sent,
                        (Problem("", f"未导入：{reason}。处理后重新运行同一命令即可，已导入的行会跳过"),),
                    )
                )

    async def send_all(self, batches: asyncio.Queue[list[Prepared] | None], concurrency: int) -> None:
        """Sends the batches as they come, `concurrency` at a time, until each sender gets None.

        The service is looked for before the first batch; once sending stops (the service is
        down, the token refused), the batches still coming are taken and left unsent.
        """
        reached = asyncio.Lock()
        looked = False

        async def worker() -> None:
            nonlocal looked
            while (chunk := await batches.get()) is not None:
                async with reached:
                    if not looked:
                        looked = True
                        await self.check_reachable()
                if self.summary.halted:
                    continue
                for outcome in await self.send(chunk):
                    self.record(outcome)

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))

    async def send(self, items: list[Prepared]) -> list[Outcome]:
        """The outcomes of the rows sent; a row sending stopped before is left out (not sent).

        The rows go as one batch; the service answers each row on its own. A row the service
        could not take for now (busy, database down) is sent again with the next attempt, with
        the others that are still waiting; a batch too large for one request is halved.
        """
        outcomes: list[Outcome] = []
        waiting = list(items)
        delay = 0.5
        last = ""
        for attempt in range(ATTEMPTS):
            if self.summary.halted:
                return outcomes
            try:
                body = {"rows": [item.body for item in waiting]}
                response = await self.client.post(BATCH_PATHS[self.kind], json=body, timeout=REQUEST_TIMEOUT)
            except httpx.TimeoutException:
                last = "等待配对服务应答超时，不能确定是否已导入"
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS - 1:
                    self.halt(self._unreachable(exc))
                    return outcomes
                last = f"连接中断（{type(exc).__name__}）"
            else:
                if response.status_code == 413 and len(waiting) > 1:
                    half = len(waiting) // 2
                    return [*outcomes, *await self.send(waiting[:half]), *await self.send(waiting[half:])]
                if response.status_code == 200:
                    waiting, last = self.judge_rows(waiting, response, outcomes)
                    if not waiting:
                        return outcomes
                elif response.status_code not in RETRY_STATUS:
                    # The request as a whole was refused: each of its rows is refused with it.
                    error = _json(response).get("error") or {}
                    outcomes += [self.judge(item, response.status_code, error) for item in waiting]
                    return outcomes
                else:
                    last = f"配对服务暂时不可用（HTTP {response.status_code}）"
                    delay = max(delay, _retry_after(response))
            await asyncio.sleep(min(delay, 10.0))
            delay *= 2
        problem = Problem("", f"未导入：{last}。请重新运行导入")
        return [*outcomes, *(Outcome(item.number, Status.not_sent, (problem,)) for item in waiting)]

    def judge_rows(
        self, items: list[Prepared], response: httpx.Response, outcomes: list[Outcome]
    ) -> tuple[list[Prepared], str]:
        """Adds the outcome of every row answered; returns the rows to send again, and why."""
        results = _json(response).get("results")
        if not isinstance(results, list) or len(results) != len(items):
            return items, "配对服务的应答不完整"
        again: list[Prepared] = []
        why = ""
        for item, result in zip(items, results, strict=True):
            status = int(result.get("status", 0)) if isinstance(result, dict) else 0
            if status in RETRY_STATUS:
                again.append(item)
                why = f"配对服务暂时不可用（HTTP {status}）"
            else:
                error = result.get("error") or {}
                outcomes.append(self.judge(item, status, error, str(result.get("id") or "")))
        return again, why

    def judge(self, item: Prepared, status: int, error: dict[str, Any], id_: str = "") -> Outcome:
        if status in (200, 201):
            return Outcome(item.number, Status.imported, id=id_)
        code = str(error.get("code", ""))
        if code in ALREADY_THERE:
            return Outcome(item.number, Status.skipped)
        if status in (401, 403):
            self.halt(
                f"配对服务不接受令牌（{code or status}）：请用 --token-file 指定"
                " var/secrets/operator.token 或 CAREPAIR_DATA_DIR 下的操作员令牌"
            )
            return Outcome(item.number, Status.not_sent, (Problem("", "未导入：配对服务不接受令牌"),))
        return Outcome(item.number, Status.failed, tuple(self.problems_of(status, error)))

    def problems_of(self, status: int, error: dict[str, Any]) -> list[Problem]:
        """The service's refusal in the sheet's terms: each detail under its column."""
        problems: list[Problem] = []
        for detail in error.get("details") or []:
            if not isinstance(detail, dict):
                continue
            if "field" in detail:
                column = self.sheet.header_for_field(str(detail["field"]))
                problems.append(Problem(column, str(detail.get("problem") or error.get("message", ""))))
            elif "code" in detail:
                column = REFUSAL_COLUMNS.get(str(detail["code"]), "")
                problems.append(Problem(column, str(detail.get("message") or detail["code"])))
        if not problems:
            message = str(error.get("message") or f"HTTP {status}")
            correlation = error.get("correlation_id")
            suffix = f"（关联号 {correlation}）" if correlation else ""
            problems.append(Problem("", f"配对服务拒绝：{message}{suffix}"))
        return problems


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("retry-after", "0"))
    except ValueError:
        return 0.0


# --- the report and the summary ------------------------------------------------------------


def write_report(summary: Summary, path: Path) -> None:
    """行号, 列, 问题 of every row not imported; UTF-8 with a BOM so that Excel opens it right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_HEADER)
        writer.writerows(summary.report_rows())


def default_report_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}_导入问题.csv")


def describe(summary: Summary, report: Path | None, *, shown: int = 10) -> str:
    counts = summary.counts
    noun = NOUNS[summary.kind]
    lines = [
        f"导入{noun}：{summary.path.name}，共 {summary.total} 行"
        + (f"（{summary.encoding}）" if summary.encoding else ""),
        f"  成功导入     {counts[Status.imported]}",
        f"  已存在，跳过 {counts[Status.skipped]}",
        f"  有问题未导入 {counts[Status.failed]}",
    ]
    if counts[Status.not_sent]:
        lines.append(f"  未发送       {counts[Status.not_sent]}（重新运行同一命令即可补上）")
    if summary.examples:
        lines.append(f"  示例行已忽略 {summary.examples}")
    if summary.halted:
        lines.append(f"中途停止：{summary.halted}")
    problems = summary.report_rows()
    failed = [r for r in problems if r[1] or not r[2].startswith("未导入：")]
    for number, column, message in failed[:shown]:
        lines.append(f"  第{number}行 {column or '整行'}：{message}")
    if len(failed) > shown:
        lines.append(f"  ……共 {len(problems)} 条问题")
    if report is not None:
        lines.append(f"问题清单：{report}")
    elif summary.complete:
        lines.append("全部完成。")
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carepair import",
        description="从Excel（.xlsx）或CSV导入关爱对象或结对干部；先用 template 生成模板。",
    )
    commands = parser.add_subparsers(dest="what", required=True)
    template = commands.add_parser("template", help="生成导入模板（.xlsx）")
    template.add_argument("kind", choices=[k.value for k in Kind])
    template.add_argument("file", type=Path)
    template.add_argument("--force", action="store_true", help="覆盖已有的文件")
    data_dir = Path(os.environ.get("CAREPAIR_DATA_DIR", "var"))
    for kind in Kind:
        command = commands.add_parser(kind.value, help=f"导入{NOUNS[kind]}")
        command.add_argument("file", type=Path, help=".xlsx 或 .csv 文件")
        command.add_argument(
            "--url",
            default=os.environ.get("CAREPAIR_PAIRING_URL", DEFAULT_URL),
            help=f"配对服务的地址（默认 {DEFAULT_URL}）",
        )
        command.add_argument(
            "--token-file",
            type=Path,
            default=data_dir / "secrets" / "operator.token",
            help="操作员令牌文件（默认 var/secrets/operator.token，carepair up 生成）",
        )
        command.add_argument("--actor", default="", help="操作人，记入每条登记（默认为当前登录用户）")
        command.add_argument(
            "--report", type=Path, help="问题清单（CSV）；默认写在源文件旁：<文件名>_导入问题.csv"
        )
        command.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH, help=f"每批发送的行数（默认 {DEFAULT_BATCH}）"
        )
        command.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help=f"同时发送的批数（默认 {DEFAULT_CONCURRENCY}）",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.what == "template":
        return _template(Kind(args.kind), args.file, force=args.force)
    kind = Kind(args.what)
    if not args.file.is_file():
        print(f"carepair import: 找不到文件 {args.file}", file=sys.stderr)
        return 2
    try:
        token = args.token_file.read_text(encoding="utf-8").strip()
    except OSError:
        print(
            f"carepair import: 读不到令牌文件 {args.token_file}：先运行 carepair up（会生成它），"
            "或用 --token-file 指定",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.batch_size <= MAX_ROWS or args.concurrency < 1:
        print(
            f"carepair import: --batch-size 取 1 到 {MAX_ROWS}，--concurrency 至少为 1",
            file=sys.stderr,
        )
        return 2
    actor = args.actor or f"operator:{_login()}"
    if ":" not in actor:
        actor = f"operator:{actor}"
    if not re.fullmatch(r"[A-Za-z0-9._@:+-]{1,100}", actor):
        # It travels in an HTTP header, which carries ASCII only.
        print(
            f"carepair import: --actor “{args.actor}”只能用字母、数字和 . _ - @ :"
            "（如 zhangsan 或 operator:zhangsan）",
            file=sys.stderr,
        )
        return 2
    try:
        today = programme_clock().today()  # eligibility is judged on the programme's date
    except ValueError as exc:
        print(f"carepair import: {exc}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token}", "Carepair-Actor": actor}
    summary = Summary(kind, args.file)
    try:
        sending = Sending(args.concurrency, args.batch_size)
        asyncio.run(_run(kind, args.file, args.url, headers, sending, summary, today))
    except FileProblem as exc:
        print(f"carepair import: {args.file}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        summary.halted = summary.halted or "已按 Ctrl-C 中断"
        print(file=sys.stderr)
    report = args.report
    if report is None and not summary.complete:
        report = default_report_path(args.file)
    if report is not None:
        write_report(summary, report)
    print(describe(summary, report))
    return 0 if summary.complete and not summary.halted else 1


async def _run(
    kind: Kind,
    path: Path,
    url: str,
    headers: dict[str, str],
    sending: Sending,
    summary: Summary,
    today: date,
) -> None:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        await import_file(
            kind,
            path,
            client,
            today=today,
            concurrency=sending.concurrency,
            batch_size=sending.batch_size,
            progress=sys.stderr,
            summary=summary,
        )


def _template(kind: Kind, path: Path, *, force: bool) -> int:
    if path.suffix.lower() != ".xlsx":
        print("carepair import: 模板是Excel文件，文件名请以 .xlsx 结尾", file=sys.stderr)
        return 2
    if path.exists() and not force:
        print(f"carepair import: {path} 已存在；加 --force 覆盖", file=sys.stderr)
        return 2
    write_template(kind, path)
    print(f"已生成{NOUNS[kind]}导入模板：{path}（第二个工作表“填写说明”解释每一列）")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "import"
