"""`python -m bench.readmodels`: rebuilding the pairing read models, one event at a time vs in batches.

One run stores a programme's pairing history (`tests/support/pairing_history.py`, at least
20,000 events) in a fresh PostgreSQL database, then rebuilds the read models from it several
times, each from empty tables and a zero checkpoint, in pages as the local consumer reads
them: with the per-event handlers of an earlier commit (`--baseline`, the code before batch
handlers), with today's projection taking each event alone (a batch of one), and with today's
projection taking each page as one batch, at several page sizes. Every rebuild must leave the
same rows. The result file goes to `bench/results/` with the machine's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.infra import code_version, contention, fresh_database, machine, postgres_server_url
from services.pairing.adapters import tables
from services.pairing.projections import PAIRING_INDEX
from shared.contracts import CONTRACTS
from shared.database import create_engine_for, migrate
from shared.eventstore import EVENTSTORE_MIGRATIONS, StoredEvent
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.messaging.projection import Projection, ProjectionRunner
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.support.pairing_history import append_history, programme_history

ROOT = Path(__file__).resolve().parent.parent
PAIRING_MIGRATIONS = ROOT / "services" / "pairing" / "migrations" / "versions"
READ_MODELS = (
    tables.subject_index,
    tables.cadre_index,
    tables.pairing_history,
    tables.rule_overrides,
    tables.reviews,
    tables.scheduled_changes,
)
BASELINE = "a58150a"  # the last commit whose pairing projection had only per-event handlers


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.readmodels", description=__doc__)
    parser.add_argument("--subjects", type=int, default=5000, help="people in the history (~4.3 events each)")
    parser.add_argument(
        "--page", type=int, default=1000, help="events per transaction, as the local consumer"
    )
    parser.add_argument("--batch-pages", type=int, nargs="+", default=[100, 500, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=2, help="rebuilds per variant (the median is kept)")
    parser.add_argument("--baseline", default=BASELINE, help="commit whose per-event projection to compare")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


def baseline_projection(commit: str) -> Projection:
    """The pairing projection as it was at `commit`, loaded from git (its imports still hold)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:services/pairing/projections.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader(f"pairing_projections_{commit}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{commit}:services/pairing/projections.py", "exec"), module.__dict__)  # noqa: S102
    projection = module.PAIRING_INDEX
    assert isinstance(projection, Projection) and projection.batch is None
    return projection


async def rows(engine: AsyncEngine) -> list[list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return [sorted((tuple(r) for r in await conn.execute(sa.select(t))), key=repr) for t in READ_MODELS]


async def rebuild(
    engine: AsyncEngine, opener: EventOpener, projection: Projection, events: Sequence[StoredEvent], page: int
) -> float:
    """Empties the read models and applies every event in pages of `page`; returns the seconds taken."""
    async with engine.begin() as conn:
        for table in READ_MODELS:
            await conn.execute(sa.delete(table))
        await conn.execute(
            sa.text("DELETE FROM consumer_checkpoints WHERE consumer = :c"), {"c": projection.name}
        )
    await engine.dispose()  # every variant starts with a cold pool
    runner = ProjectionRunner(engine, projection, opener)
    await runner.start()
    began = time.perf_counter()
    for start in range(0, len(events), page):
        await runner.apply("pairing", events[start : start + page])
    elapsed = time.perf_counter() - began
    assert runner.position("pairing") == events[-1].position
    return elapsed


async def measure(url: URL, args: argparse.Namespace) -> dict[str, Any]:
    migrate(url, [EVENTSTORE_MIGRATIONS, PAIRING_MIGRATIONS])
    engine = create_engine_for(url, pool_size=4)
    sealer = PayloadSealer(MemoryKeyStore())
    store = SqlEventStore(engine, "pairing", sealer)
    await store.start()
    try:
        began = time.perf_counter()
        count = await append_history(store, programme_history(args.subjects))
        stored = time.perf_counter() - began
        events = await store.read_after(0, count + 1)
        assert len(events) == count >= 20_000 or args.subjects < 5000, count
        print(f"stored {count} events in {stored:.1f} s", flush=True)
        opener = EventOpener(CONTRACTS, sealer)
        variants: list[tuple[str, Projection, int]] = [
            (
                f"per-event handlers ({args.baseline}), pages of {args.page}",
                baseline_projection(args.baseline),
                args.page,
            ),
            (f"batch of one per event, pages of {args.page}", PAIRING_INDEX.one_by_one(), args.page),
            *((f"batch handler, pages of {p}", PAIRING_INDEX, p) for p in args.batch_pages),
        ]
        results: dict[str, Any] = {}
        reference: list[list[tuple[Any, ...]]] | None = None
        for _ in range(args.repeat):
            for title, projection, page in variants:
                seconds = await rebuild(engine, opener, projection, events, page)
                results.setdefault(title, {"page": page, "seconds": []})["seconds"].append(round(seconds, 3))
                state = await rows(engine)
                if reference is None:
                    reference = state
                assert state == reference, f"{title} left other rows"
                print(f"{title:<58} {count / seconds:>9,.0f} events/s", flush=True)
        for result in results.values():
            median = statistics.median(result["seconds"])
            result["events_per_second"] = round(count / median)
        return {
            "events": count,
            "subjects": args.subjects,
            "store_seconds": round(stored, 1),
            "variants": results,
        }
    finally:
        await store.close()
        await engine.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    async with fresh_database(server, "readmodels") as url:
        measured = await measure(url, args)
    return {
        "schema": 1,
        "bench": "readmodels",
        "started_at": started.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, "not used"),
        "contention": {"before": before, "after": contention()},
        "settings": {
            "subjects": args.subjects,
            "page": args.page,
            "repeat": args.repeat,
            "baseline": args.baseline,
        },
        **measured,
    }


def entry(argv: list[str]) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    output = (
        args.output or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M}-vm-readmodels.json"
    )
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
