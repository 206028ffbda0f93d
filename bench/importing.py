"""`python -m bench.importing`: where the time of `carepair import` goes, stage by stage.

One run starts the real pairing app under uvicorn (in a thread of this process, on a fresh
PostgreSQL database and a NATS server), writes a county's subjects list and cadres list as
.xlsx in the template's columns, and measures, for each list, in this order:

- `read_check`: `cli.read_rows` (open the file, check every row), nothing sent;
- `http_validation`: the rows `POST`ed in the importer's batches (`/subjects:batch`,
  `/cadres:batch`) with one value in each row that the API refuses after the row's model has
  validated it (a subject's ID number with a wrong check digit, a cadre's phone), so every row
  does everything but the handler, and is answered with its error;
- `handler`: `handlers.register_subjects` / `register_cadres` called in-process, on the
  service's own event loop with its own dependencies, a batch at a time as the route calls
  them (the importer's batches in flight), for a second set of people; inside it the time in
  `store.read_streams`, `store.append` and, within the append, `sealer.seal_many` (the
  people's data keys) is summed (the append carries the registries' effect);
- `import`: `cli.import_file`, as `carepair import` runs it, through an HTTP client, in the
  bench's process (it shares one GIL with the service);
- `import_cli`: `carepair import` itself, in a process of its own as operators run it, for a
  third set of people (the service still in the bench's process);
- `api_generated`: the generated county of `bench/province.py` (和政县, realistic people on
  real villages, `--subjects`/`--cadres` of them) written through the real API's batch
  routes as JSON, at the importer's batch size and concurrency.

`--profile` runs cProfile on the service's thread and on the importer's during `import` and
keeps the top functions by cumulative time (the timings of that run are then inflated).
The result file goes to `bench/results/` with the machine's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openpyxl

from bench import province
from bench.infra import (
    _version,
    code_version,
    contention,
    delete_stream,
    fresh_database,
    machine,
    nats_server,
    nats_version,
    postgres_server_url,
)
from services.pairing import handlers
from services.pairing.bootstrap import create_app
from services.pairing.domain.commands import RegisterCadre, RegisterSubject
from services.pairing.entrypoints.commands import checked_subject_fields
from services.pairing.entrypoints.importer.cli import (
    DEFAULT_BATCH,
    DEFAULT_CONCURRENCY,
    Status,
    import_file,
    read_rows,
)
from services.pairing.entrypoints.importer.rows import Prepared
from services.pairing.entrypoints.importer.template import SHEETS, Kind
from services.pairing.entrypoints.schemas import CadreCreate, SubjectCreate
from services.pairing.settings import PairingSettings
from shared.clock import ManualClock
from shared.eventstore import Metadata
from tests.support.identity import resident_id, wrong_check_digit
from tests.support.service_app import auth_headers, settings_values, started_server

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 29)
COUNTY = "622925"
TOWNSHIPS = tuple(f"{COUNTY}{100 + t:03d}" for t in range(10))
STAGES = ("read_check", "http_validation", "handler", "import", "import_cli", "api_generated")
T = TypeVar("T")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.importing", description=__doc__)
    parser.add_argument("--subjects", type=int, default=1000, help="rows of the subjects list")
    parser.add_argument("--cadres", type=int, default=1000, help="rows of the cadres list")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="batches in flight, as --concurrency"
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH, help="rows a request, as --batch-size"
    )
    parser.add_argument("--seed", type=int, default=1, help="the generated county's seed")
    parser.add_argument("--profile", action="store_true", help="cProfile the import stage")
    parser.add_argument("--top", type=int, default=15, help="functions kept from each profile")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


# --- the lists --------------------------------------------------------------------------


def village(n: int) -> str:
    return f"{TOWNSHIPS[n % len(TOWNSHIPS)]}{200 + (n // len(TOWNSHIPS)) % 30:03d}"


def subject_row(n: int, batch: int) -> dict[str, Any]:
    """Orphans and children without care, two to a household, in 300 villages of one county."""
    born = date(2009, 1, 1) + timedelta(days=n % 6000)
    female = n % 2 == 0
    place = village(n // 2)
    return {
        "户编号": str(n // 2 + 1),
        "姓名": f"马{batch}{n}",
        "性别": "女" if female else "男",
        "出生日期": f"{born:%Y/%-m/%-d}",
        "身份证号": resident_id(COUNTY, born, female, 100 * batch + n // 6000 % 100),
        "类别": "孤儿" if n % 3 else "事实无人抚养儿童",
        "父母情况": "" if n % 3 else "服刑在押、失踪",
        "养育方式": "社会散居",
        "在读阶段": "小学",
        "常住地县代码": COUNTY,
        "常住地乡镇代码": place[:9],
        "常住地村代码": place,
        "监护人姓名": "马奶奶",
        "监护人性别": "女",
        "监护人关系": "祖母",
        "监护人电话": "13800138000",
    }


def cadre_row(n: int, batch: int) -> dict[str, Any]:
    return {
        "姓名": f"干部{batch}-{n}",
        "性别": "女" if n % 2 == 0 else "男",
        "出生日期": date(1966, 1, 1) + timedelta(days=n % 9000),
        "联系电话": f"139{batch}{n:07d}",
        "单位编号": f"u-{n % 60}",
        "单位名称": "和政县民政局",
        "职务": "干部",
        "职务职级层次": "乡科级",
        "职务职级": "副职",
        "是否党员": "是",
        "干部类别": "乡镇、县直单位、人民团体、国有企业领导干部",
        "联系村代码": village(n),
    }


ROWS: dict[Kind, Callable[[int, int], dict[str, Any]]] = {Kind.subjects: subject_row, Kind.cadres: cadre_row}


def write_list(kind: Kind, path: Path, count: int, batch: int) -> Path:
    """The list as an operator fills the template: its data sheet, its headers, text cells."""
    sheet = SHEETS[kind]
    book = openpyxl.Workbook()
    data = book.active
    assert data is not None
    data.title = sheet.title
    data.append(sheet.headers)
    for n in range(count):
        row = ROWS[kind](n, batch)
        data.append([row.get(h) or None for h in sheet.headers])
    book.save(path)
    return path


# --- the service, on a loop the bench can reach ------------------------------------------


@dataclass
class Service:
    url: str
    loop: asyncio.AbstractEventLoop
    app: Any
    profile: cProfile.Profile | None = None

    def call(self, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """Runs `coro` on the service's event loop; awaitable from the bench's."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))


@contextlib.contextmanager
def serving(app: Any) -> Iterator[Service]:
    """As `tests/support/service_app.serving`, keeping the server's loop for in-process calls."""
    with started_server(app) as (url, server):
        yield Service(url, server.servers[0].get_loop(), app)


# --- the stages ---------------------------------------------------------------------------


@dataclass
class Stage:
    rows: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        rate = self.rows / self.seconds if self.seconds > 0 else None
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate, 1) if rate else None,
            **self.extra,
        }


async def in_parallel(items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[Any]]) -> float:
    """Runs `work` on every item, `concurrency` at a time as the importer does; the seconds."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await work(item)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return time.perf_counter() - began


def refused_body(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """The body with one value the route refuses after its request model accepted the body."""
    if kind is Kind.subjects:
        return {**body, "id_number": wrong_check_digit(body["id_number"])}
    return {**body, "phone": "1390000"}


def command_of(kind: Kind, body: dict[str, Any]) -> RegisterSubject | RegisterCadre:
    """The command the route builds from the body (same checks, same normalising)."""
    if kind is Kind.subjects:
        fields = checked_subject_fields(SubjectCreate.model_validate(body))
        return RegisterSubject(subject_id=f"s-{uuid.uuid4()}", **fields)
    values = CadreCreate.model_validate(body).model_dump(exclude={"cadre_id"})
    return RegisterCadre(cadre_id=f"c-{uuid.uuid4()}", **values)


class Timed:
    """Wraps an async method of `owner` and sums the seconds spent in it, while installed."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name = owner, name
        self.original = getattr(owner, name)
        self.seconds = 0.0
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await self.original(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1

    def __enter__(self) -> Timed:
        setattr(self.owner, self.name, self)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(AttributeError):
            delattr(self.owner, self.name)  # the instance attribute; the class's method shows again


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), max(1, size))]


async def handler_stage(
    service: Service, kind: Kind, items: Sequence[Prepared], args: argparse.Namespace
) -> Stage:
    """The batch handler on the service's loop and deps, as the route calls it, and its store calls."""
    deps = service.app.state.runtime.deps
    handler = handlers.register_subjects if kind is Kind.subjects else handlers.register_cadres
    commands = [command_of(kind, item.body) for item in items]
    meta = Metadata(actor="operator:bench")
    latencies: list[float] = []

    store = deps.repo.store
    batches, paths = store.batches_committed, dict(store.commits_by_path)

    sealing = Timed(store.sealer, "seal_many")  # inside the append: the people's data keys

    async def run_all() -> tuple[float, float, int, float, int]:
        with Timed(store, "append") as append, Timed(store, "read_streams") as read, sealing:

            async def one(batch: Sequence[Any]) -> None:
                began = time.perf_counter()
                outcomes = await handler(deps, list(batch), meta)
                latencies.append(time.perf_counter() - began)
                failed = [o for o in outcomes if isinstance(o, Exception)]
                assert not failed, failed[:3]

            seconds = await in_parallel(chunks(commands, args.batch_size), args.concurrency, one)
            return seconds, append.seconds, append.calls, read.seconds, read.calls

    seconds, append_s, appends, read_s, reads = await service.call(run_all())
    handler_s = sum(latencies)
    return Stage(
        len(commands),
        seconds,
        {
            "batch_mean_ms": round(1000 * handler_s / max(len(latencies), 1), 3),
            "append_mean_ms": round(1000 * append_s / max(appends, 1), 3),
            "read_streams_mean_ms": round(1000 * read_s / max(reads, 1), 3),
            "seal_mean_ms": round(1000 * sealing.seconds / max(sealing.calls, 1), 3),
            "store_batches": store.batches_committed - batches,
            "store_commits_by_path": {
                k: n - paths.get(k, 0) for k, n in store.commits_by_path.items() if n - paths.get(k, 0)
            },
        },
    )


def top(profile: cProfile.Profile, count: int) -> list[dict[str, Any]]:
    """The profile's `count` functions with the most cumulative time."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    entries = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.replace(str(ROOT) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        elif "/lib/python3." in where:  # the standard library: asyncio/…, selectors.py
            where = where.split("/lib/python3.", 1)[1].split("/", 1)[-1]
        entries.append(
            {
                "function": f"{where}:{line}({name})",
                "calls": calls,
                "own_s": round(own, 3),
                "cumulative_s": round(cumulative, 3),
            }
        )
    entries.sort(key=lambda e: e["cumulative_s"], reverse=True)
    return entries[:count]


async def measure_list(
    service: Service, client: httpx.AsyncClient, kind: Kind, folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    count = args.subjects if kind is Kind.subjects else args.cadres
    imported_list = write_list(kind, folder / f"{kind.value}.xlsx", count, batch=1)
    handled_list = write_list(kind, folder / f"{kind.value}-handler.xlsx", count, batch=2)
    cli_list = write_list(kind, folder / f"{kind.value}-cli.xlsx", count, batch=3)
    stages: dict[str, Stage] = {}

    began = time.perf_counter()
    prepared, _ = read_rows(kind, imported_list, TODAY)
    stages["read_check"] = Stage(count, time.perf_counter() - began)
    good = [p for p in prepared if p.ok and not p.example]
    assert len(good) == count, [p.problems for p in prepared if not p.ok][:3]

    path = "/subjects:batch" if kind is Kind.subjects else "/cadres:batch"

    async def refused(batch: Sequence[Prepared]) -> None:
        response = await client.post(path, json={"rows": [refused_body(kind, item.body) for item in batch]})
        assert response.status_code == 200, response.text
        assert all(r["status"] == 422 for r in response.json()["results"]), response.text[:500]

    batches = chunks(good, args.batch_size)
    stages["http_validation"] = Stage(count, await in_parallel(batches, args.concurrency, refused))

    handled, _ = read_rows(kind, handled_list, TODAY)
    stages["handler"] = await handler_stage(service, kind, handled, args)

    profiles: dict[str, Any] = {}
    importer_profile = cProfile.Profile() if args.profile else None
    service_profile = cProfile.Profile() if args.profile else None
    if service_profile is not None:
        await service.call(_enable(service_profile))
    if importer_profile is not None:
        importer_profile.enable()
    began = time.perf_counter()
    summary = await import_file(
        kind, imported_list, client, today=TODAY, concurrency=args.concurrency, batch_size=args.batch_size
    )
    seconds = time.perf_counter() - began
    if importer_profile is not None:
        importer_profile.disable()
        profiles["importer"] = top(importer_profile, args.top)
    if service_profile is not None:
        await service.call(_disable(service_profile))
        profiles["service"] = top(service_profile, args.top)
    counts = summary.counts
    stages["import"] = Stage(
        count, seconds, {"outcomes": {status.value: counts[status] for status in Status if counts[status]}}
    )
    stages["import_cli"] = await import_cli(kind, cli_list, service.url, folder, args, count)
    stages["api_generated"] = await api_generated(kind, client, args, count)
    result: dict[str, Any] = {
        "rows": count,
        "imported": counts[Status.imported],
        "stages": {name: stages[name].as_dict() for name in STAGES},
    }
    if profiles:
        result["profiles"] = profiles
    return result


async def import_cli(
    kind: Kind, path: Path, url: str, folder: Path, args: argparse.Namespace, count: int
) -> Stage:
    """`carepair import` in a process of its own; the seconds from start to exit."""
    token = folder / "operator.token"
    token.write_text(auth_headers("pairing")["Authorization"].removeprefix("Bearer "), encoding="utf-8")
    command = [
        sys.executable, "-m", "carepair", "import", kind.value, str(path), "--url", url,
        "--token-file", str(token), "--actor", "operator:bench", "--report", str(folder / "report.csv"),
        "--batch-size", str(args.batch_size), "--concurrency", str(args.concurrency),
    ]
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT
    )
    output, _ = await process.communicate()
    seconds = time.perf_counter() - began
    if process.returncode != 0:
        raise RuntimeError(f"carepair import exited {process.returncode}: {output.decode()[-2000:]}")
    return Stage(count, seconds, {"process": "carepair import, a process of its own (start-up included)"})


async def api_generated(kind: Kind, client: httpx.AsyncClient, args: argparse.Namespace, count: int) -> Stage:
    """The generated county's people through `POST /subjects:batch` or `/cadres:batch`."""
    scale = province.SCALES["county"]
    people = (
        province.subjects(scale, args.seed, TODAY, count)
        if kind is Kind.subjects
        else province.cadres(scale, args.seed, TODAY, count)
    )
    bodies = [person.model_dump(mode="json") for person in people]
    path = "/subjects:batch" if kind is Kind.subjects else "/cadres:batch"
    refused: Counter[str] = Counter()

    async def send(batch: Sequence[dict[str, Any]]) -> None:
        response = await client.post(path, json={"rows": list(batch)})
        response.raise_for_status()
        for result in response.json()["results"]:
            if result["status"] != 201:
                refused[result["error"]["code"]] += 1

    seconds = await in_parallel(chunks(bodies, args.batch_size), args.concurrency, send)
    return Stage(len(bodies), seconds, {"refused": dict(refused), "seed": args.seed})


async def _enable(profile: cProfile.Profile) -> None:
    profile.enable()


async def _disable(profile: cProfile.Profile) -> None:
    profile.disable()


async def measure(url: Any, nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carepair-bench-import-") as tmp:
        folder = Path(tmp)
        stream = f"CAREPAIR_BENCH_IMPORT_{uuid.uuid4().hex[:8].upper()}"
        database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        settings = PairingSettings(**settings_values(folder, nats_url, stream, database_url))
        app = create_app(settings, ManualClock.on(TODAY))
        lists: dict[str, Any] = {}
        try:
            with serving(app) as service:
                limits = httpx.Limits(max_connections=args.concurrency * 2)
                async with httpx.AsyncClient(
                    base_url=service.url, headers=auth_headers("pairing"), timeout=60, limits=limits
                ) as client:
                    for kind in (Kind.subjects, Kind.cadres):
                        lists[kind.value] = await measure_list(service, client, kind, folder, args)
                        print(line(kind, lists[kind.value]), flush=True)
        finally:
            await delete_stream(nats_url, stream)
        return lists



def line(kind: Kind, result: dict[str, Any]) -> str:
    parts = [f"{name} {stage['rows_per_second']:,.0f}/s" for name, stage in result["stages"].items()]
    return f"{kind.value:<8} {result['imported']}/{result['rows']} imported; " + ", ".join(parts)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    with nats_server() as nats_url:
        async with fresh_database(server, "importing", event_store=False) as url:
            lists = await measure(url, nats_url, args)
        version = await nats_version(nats_url)
    return {
        "schema": 1,
        "bench": "importing",
        "started_at": started.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, version),
        "contention": {"before": before, "after": contention()},
        "settings": {
            "subjects": args.subjects,
            "cadres": args.cadres,
            "concurrency": args.concurrency,
            "batch_size": args.batch_size,
            "profile": args.profile,
            "service": "uvicorn in a thread of the bench's process (one GIL with the importer)",
            "service_loop": "uvloop" if _version("uvloop") else "asyncio",
            "database": "PostgreSQL",
        },
        "lists": lists,
    }



def entry(argv: list[str]) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    suffix = "-profile" if args.profile else ""
    output = args.output or (
        ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M}-vm-importing{suffix}.json"
    )
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
