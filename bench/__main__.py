"""`python -m bench`: every scenario in one run, a line per scenario, results saved as JSON."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import psycopg
from sqlalchemy.engine import URL

from bench import appends, ceilings, latency, pipeline, report, soak
from bench.infra import (
    code_version,
    contention,
    fresh_database,
    machine,
    nats_server,
    postgres_server_url,
)
from bench.timing import Measured
from bench.workload import build_sealer, visit

Insert = Callable[[URL, dict[str, Any], int, float, float], Awaitable[Measured]]
GROUPS = ("appends", "recorder", "effects", "ceilings", "relay", "latency", "soak")
WRITERS = (1, 16)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured duration of each append scenario (ceilings: half)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured lead-in per run")
    parser.add_argument("--events", type=int, default=50_000,
                        help="events pre-loaded for the relay and consumer scenarios")
    parser.add_argument("--rate", type=float, default=200.0, help="latency scenario's events/s")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--soak-seconds", type=float, default=120.0,
                        help="how long the relay soak trickles single-event pages")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="auto: uvloop when installed, as uvicorn runs the services")
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


class Run:
    """Collects scenario results and prints a line as each one finishes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.groups = set(args.only or GROUPS)
        self.scenarios: dict[str, dict[str, Any]] = {}
        self.began = time.perf_counter()

    async def step(self, key: str, title: str, work: Callable[[], Awaitable[Measured]]) -> None:
        self.starting(title)
        self.note(key, title, await work())

    def starting(self, title: str) -> None:
        if sys.stdout.isatty():
            print(f"… {title}", end="", flush=True)

    def note(self, key: str, title: str, result: Measured) -> None:
        self.scenarios[key] = {"title": title, **result.as_dict()}
        clock = time.perf_counter() - self.began
        erase = "\r\x1b[K" if sys.stdout.isatty() else ""
        print(f"{erase}[{clock:4.0f}s] {title:<46} {result.line()}", flush=True)


async def scenarios(run: Run, nats_url: str) -> None:
    args, server, sealer = run.args, postgres_server_url(), build_sealer()
    seconds, warmup = args.seconds, args.warmup
    for writers in WRITERS:
        if "appends" in run.groups:
            async def store(n: int = writers) -> Measured:
                async with fresh_database(server, "append") as url:
                    return await appends.carepair_appends(url, sealer, n, seconds, warmup)

            await run.step(f"append.carepair.{writers}", f"carepair appends, {_n(writers, 'writer')}",
                           store)
        if "recorder" in run.groups:
            async def recorder(n: int = writers) -> Measured:
                async with fresh_database(server, "es", event_store=False) as url:
                    return await appends.recorder_appends(url, n, seconds, warmup)

            await run.step(f"append.eventsourcing.{writers}",
                           f"eventsourcing recorder, {_n(writers, 'thread')}", recorder)
    if "effects" in run.groups:
        titles = {"plain": "appends, in turns with the two below",
                  "effect": "appends with an effect",
                  "effect_by_statements": "appends with an effect, statement by statement"}
        for writers in WRITERS:
            run.starting(f"appends with and without an effect, {_n(writers, 'writer')}")
            async with fresh_database(server, "effect") as url:
                results = await appends.effect_appends(url, sealer, writers, seconds, warmup)
            for name, result in results.items():
                run.note(f"effects.{name}.{writers}", f"{titles[name]}, {_n(writers, 'writer')}", result)
    if "ceilings" in run.groups:
        data = (await sealer.seal_many([visit("visit-0-0123abcd")]))[0]
        inserts: tuple[tuple[str, Insert], ...] = (
            ("asyncpg", ceilings.asyncpg_inserts), ("psycopg", ceilings.psycopg_inserts)
        )
        for name, insert in inserts:
            for conns in WRITERS:
                async def ceiling(n: int = conns, insert: Insert = insert) -> Measured:
                    async with fresh_database(server, "ceiling", event_store=False) as url:
                        return await insert(url, data, n, seconds / 2, warmup)

                await run.step(f"ceiling.{name}.{conns}",
                               f"raw {name} INSERT commits, {_n(conns, 'conn')}", ceiling)
    if "relay" in run.groups:
        run.starting(f"relay and consumer, {args.events} events")
        async with (fresh_database(server, "relay") as store_url,
                    fresh_database(server, "model") as model_url):
            results = await pipeline.relay_and_consumer(
                store_url, model_url, sealer, nats_url, args.events
            )
        titles = {"preload": "pre-load (500 events per append)", "relay": "relay drain",
                  "raw_publish_async": "raw nats-py publish_async", "consumer": "consumer apply"}
        keys = {"preload": "relay.preload", "relay": "relay.drain",
                "raw_publish_async": "relay.raw_publish_async", "consumer": "consumer.apply"}
        for name, result in results.items():
            run.note(keys[name], f"{titles[name]}, {args.events} events", result)
    if "latency" in run.groups:
        async def steady() -> Measured:
            async with (fresh_database(server, "producer") as store_url,
                        fresh_database(server, "consumer") as model_url):
                return await latency.steady_latency(
                    store_url, model_url, sealer, nats_url, args.rate, args.latency_seconds
                )

        await run.step(report.LATENCY, f"commit → read model at {args.rate:g} ev/s", steady)
    if "soak" in run.groups:
        async def trickle() -> Measured:
            async with fresh_database(server, "soak") as url:
                return await soak.relay_soak(url, sealer, nats_url, args.soak_seconds)

        await run.step("relay.soak", f"relay soak, one event a page, {args.soak_seconds:g} s", trickle)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


async def nats_version(url: str) -> str:
    client = await nats.connect(url)
    try:
        v = client.connected_server_version
        return f"{v.major}.{v.minor}.{v.patch}"
    finally:
        await client.close()


async def main(args: argparse.Namespace, loop_name: str) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    given_nats = os.environ.get("CAREPAIR_BENCH_NATS_URL")
    with nats_server() as nats_url:
        facts = machine(postgres_server_url(), await nats_version(nats_url))
        run = Run(args)
        await scenarios(run, nats_url)
    return {
        "schema": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(time.perf_counter() - run.began, 1),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": facts,
        "contention": {"before": before, "after": contention()},
        "settings": {
            "seconds": args.seconds, "warmup": args.warmup, "events": args.events,
            "rate": args.rate, "latency_seconds": args.latency_seconds, "loop": loop_name,
            "soak_seconds": args.soak_seconds,
            "nats": "given" if given_nats else "embedded, sync_interval always",
            "groups": sorted(run.groups),
        },
        "scenarios": run.scenarios,
        "ratios": report.ratios(run.scenarios),
    }


def entry(argv: list[str]) -> int:
    args = parse(argv)
    loop_name = args.loop
    if loop_name == "auto":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loop_name = "asyncio"
        else:
            loop_name = "uvloop"
    try:
        if loop_name == "uvloop":
            import uvloop

            results = uvloop.run(main(args, loop_name))
        else:
            results = asyncio.run(main(args, loop_name))
    except psycopg.OperationalError as exc:
        server = postgres_server_url().render_as_string(hide_password=True)
        print(f"\nPostgreSQL at {server} did not answer ({exc}); start one or set "
              "CAREPAIR_BENCH_POSTGRES_URL", file=sys.stderr)
        return 2
    output = args.output
    if output is None and args.only:
        output = report.RESULTS_DIR / f"partial-{datetime.now(UTC):%Y-%m-%d-%H%M%S}.json"
    path = report.save(results, output)
    print()
    print(report.markdown(results))
    print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
