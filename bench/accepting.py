"""`python -m bench.accepting`: accepting suggested pairings in batches, and where the time goes.

One run starts the real pairing app in-process (its runtime on a fresh PostgreSQL database and
a NATS server: the SQL event store, the sealer over the SQL key store with its cache, the SQL
registries, all as `services/pairing/bootstrap.py` builds them), registers a generated county
(`bench/province.py`) through the handlers, many at once, and asks the solver for a plan. The
plan's pairings then go in batches (`--batch` pairs, `--refused` of them pairs the rules must
refuse: a cadre asked for a second household, a subject already paired, each placed after the
pairing that makes it wrong), measured as:

- `one_by_one`: `handlers.pair` for each pair of a batch in turn, the way accepting worked
  before (a smaller batch, `--one-by-one` pairs), for the ratio in the same run;
- `handler`: `handlers.accept_suggestions` in-process, on the service's loop and deps, with
  the time inside it split into stages (summed over calls; the appends overlap one another):
  stream reads, basis reads before deciding, decide, appends (the caller's wait), and inside
  the store: its commits (serial), the effects in them (check + registry changes) and the
  checks alone;
- `http`: `POST /suggestions/accept` through the app (ASGI in-process, JSON both ways).

Every pair's outcome is compared with what it must be; `unexpected` counts the differences.
`--profile` runs cProfile over one more handler batch and keeps the top functions.
The result file goes to `bench/results/` with the machine's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.importing import Timed, top
from bench.infra import (
    code_version,
    contention,
    delete_stream,
    fresh_database,
    machine,
    nats_server,
    nats_version,
    postgres_server_url,
)
from bench.province import SCALES, cadres, subjects
from services.pairing import handlers
from services.pairing.bootstrap import create_app
from services.pairing.domain import pairing as pairings
from services.pairing.domain.commands import PairSubject
from services.pairing.domain.refusals import Refused
from services.pairing.domain.solver import suggest
from services.pairing.settings import PairingSettings
from shared.clock import ManualClock
from shared.eventstore import Metadata
from tests.support.service_app import running_app, settings_values

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 29)
META = Metadata(actor="operator:bench")
STAGES = ("stream_reads", "basis_reads", "decide", "appends", "store_commits", "effects", "checks", "sealing")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.accepting", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="county", help="the province's scale")
    parser.add_argument("--seed", type=int, default=1, help="the generated province's seed")
    parser.add_argument("--subjects", type=int, default=5000, help="subjects registered (first N)")
    parser.add_argument("--cadres", type=int, default=5000, help="cadres registered (first N)")
    parser.add_argument("--batch", type=int, default=500, help="pairs per accept call")
    parser.add_argument("--refused", type=float, default=0.1, help="share of a batch the rules refuse")
    parser.add_argument("--batches", type=int, default=2, help="batches through the handler")
    parser.add_argument("--http-batches", type=int, default=1, help="batches through the HTTP route")
    parser.add_argument("--one-by-one", type=int, default=100, help="pairs of the one-by-one batch")
    parser.add_argument("--register-at-once", type=int, default=200, help="registrations in flight")
    parser.add_argument("--profile", action="store_true", help="cProfile one more handler batch")
    parser.add_argument("--top", type=int, default=25, help="functions kept from the profile")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


# --- the batches ---------------------------------------------------------------------------


@dataclass
class Batch:
    """Pairs in the order sent, and for each the refusal code it must get (None: accepted)."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    expected: list[str | None] = field(default_factory=list)


def households_of(placed: Sequence[Any]) -> list[list[tuple[str, str]]]:
    """The plan's pairs grouped by household, households in the plan's order."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for s in placed:
        grouped.setdefault(s.household_id, []).append((s.subject_id, s.cadre_id))
    return list(grouped.values())


class Plan:
    """The solver's plan cut into batches; the pairs refused use people the plan left out."""

    def __init__(
        self, placed: Sequence[Any], unplaced: Sequence[str], unused: Sequence[str], seed: int
    ) -> None:
        self.households = iter(households_of(placed))
        self.unplaced = iter(unplaced)  # subjects the plan could not place: never paired here
        self.unused = iter(unused)  # cadres the plan did not use: never paired here
        self.rng = random.Random(seed)

    def take(self, valid: int) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        while len(pairs) < valid:
            household = next(self.households, None)
            if household is None:
                raise SystemExit("the plan has too few pairings for these batches: register more people")
            pairs.extend(household)
        return pairs

    def batch(self, size: int, refused_share: float) -> Batch:
        refused = int(size * refused_share)
        valid = self.take(size - refused)
        keyed: list[tuple[float, tuple[str, str], str | None]] = [(i, p, None) for i, p in enumerate(valid)]
        for k in range(refused):
            anchor = self.rng.randrange(len(valid))
            subject, cadre = valid[anchor]
            try:
                if k % 2 == 0:  # the cadre, once paired with the anchor's household, asked for another
                    pair, code = (next(self.unplaced), cadre), "cadre_already_paired"
                else:  # the anchor's subject, once paired, asked for a second cadre
                    pair, code = (subject, next(self.unused)), "subject_already_paired"
            except StopIteration:
                raise SystemExit("too few people left out of the plan for the refused pairs") from None
            keyed.append((self.rng.uniform(anchor + 0.5, len(valid)), pair, code))
        keyed.sort(key=lambda k: k[0])
        return Batch([p for _, p, _ in keyed], [c for _, _, c in keyed])


def unexpected(batch: Batch, results: Sequence[dict[str, Any]]) -> int:
    """How many outcomes differ from what the rules must give."""
    wrong = 0
    for (subject, cadre), code, result in zip(batch.pairs, batch.expected, results, strict=True):
        assert (result["subject_id"], result["cadre_id"]) == (subject, cadre)
        if code is None:
            wrong += not result["accepted"]
        else:
            wrong += result["accepted"] or code not in {r["code"] for r in result["refusals"]}
    return wrong


# --- the stages ----------------------------------------------------------------------------


class Stopwatch:
    """Sums the time of a sync function of a module while installed."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name = owner, name
        self.original = getattr(owner, name)
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1

    def __enter__(self) -> Stopwatch:
        setattr(self.owner, self.name, self)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.owner, self.name, self.original)


class Registered(Timed):
    """`handlers._registered`, split: a read before deciding, or a check inside an append."""

    def __init__(self) -> None:
        super().__init__(handlers, "_registered")
        self.check_seconds = 0.0
        self.check_calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await self.original(*args, **kwargs)
        finally:
            spent = time.perf_counter() - began
            if kwargs.get("versions"):
                self.check_seconds += spent
                self.check_calls += 1
            else:
                self.seconds += spent
                self.calls += 1

    def __exit__(self, *exc: object) -> None:
        setattr(self.owner, self.name, self.original)


class Effects:
    """The registries' effects, timed where the store runs them (inside its transaction).

    A wrapped effect keeps its `together` (wrapped once per original, so that neighbours still
    share one and the store still runs them at once); a run's time counts for its effects.
    """

    def __init__(self, registries: Any) -> None:
        self.registries = registries
        self.original = registries.effect
        self.seconds = 0.0
        self.calls = 0
        self.runs = 0  # calls of a `together`
        self._together: dict[Any, Any] = {}

    def __call__(self, changes: Any, check: Any = None) -> Any:
        return _TimedEffect(self, self.original(changes, check))

    def together(self, original: Any) -> Any:
        if original not in self._together:

            async def timed(conn: Any, effects: Sequence[Any]) -> Any:
                began = time.perf_counter()
                try:
                    return await original(conn, [e.inner for e in effects])
                finally:
                    self.seconds += time.perf_counter() - began
                    self.calls += len(effects)
                    self.runs += 1

            self._together[original] = timed
        return self._together[original]

    def __enter__(self) -> Effects:
        self.registries.effect = self
        return self

    def __exit__(self, *exc: object) -> None:
        del self.registries.effect


class _TimedEffect:
    def __init__(self, effects: Effects, inner: Any) -> None:
        self.effects, self.inner = effects, inner
        together = getattr(inner, "together", None)
        if together is not None:
            self.together = effects.together(together)

    async def __call__(self, conn: Any) -> None:
        began = time.perf_counter()
        try:
            await self.inner(conn)
        finally:
            self.effects.seconds += time.perf_counter() - began
            self.effects.calls += 1


@contextlib.contextmanager
def stages(deps: Any) -> Iterator[dict[str, Any]]:
    """Installs the timers; fills the dict with each stage's summed seconds and calls on exit."""
    repo, store = deps.repo, deps.repo.store
    reads = [Timed(repo, name) for name in ("subjects", "cadres", "subject", "cadre")]
    registered, decide = Registered(), Stopwatch(pairings, "decide_pair")
    appends, commits, sealing = (
        Timed(repo, "append_subject"),
        Timed(store, "_commit"),
        Timed(store.sealer, "seal_many"),
    )
    effects = Effects(deps.registries)
    batches, paths = store.batches_committed, dict(store.commits_by_path)
    found: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for timer in (*reads, registered, decide, appends, commits, sealing, effects):
            stack.enter_context(timer)  # type: ignore[arg-type]
        yield found
    found.update(
        {
            "stream_reads": (sum(t.seconds for t in reads), sum(t.calls for t in reads)),
            "basis_reads": (registered.seconds, registered.calls),
            "decide": (decide.seconds, decide.calls),
            "appends": (appends.seconds, appends.calls),
            "store_commits": (commits.seconds, commits.calls),
            "effects": (effects.seconds, effects.calls),
            "effect_runs_together": effects.runs,
            "checks": (registered.check_seconds, registered.check_calls),
            "sealing": (sealing.seconds, sealing.calls),
            "store_batches": store.batches_committed - batches,
            "store_commits_by_path": {
                k: n - paths.get(k, 0) for k, n in store.commits_by_path.items() if n - paths.get(k, 0)
            },
        }
    )


def summary(
    pairs: int, seconds: list[float], wrong: int, accepted: int, timed: dict[str, Any]
) -> dict[str, Any]:
    total = sum(seconds)
    result: dict[str, Any] = {
        "pairs": pairs,
        "accepted": accepted,
        "unexpected": wrong,
        "seconds": round(total, 3),
        "batch_seconds": [round(s, 3) for s in seconds],
        "pairs_per_second": round(pairs / total, 1) if total else None,
    }
    if timed:
        result["stages"] = {
            name: {
                "seconds": round(timed[name][0], 3),
                "calls": timed[name][1],
                "share_of_wall": round(timed[name][0] / total, 3) if total else None,
            }
            for name in STAGES
        }
        result["store_batches"] = timed["store_batches"]
        result["effect_runs_together"] = timed["effect_runs_together"]
        result["store_commits_by_path"] = timed["store_commits_by_path"]
    return result


# --- the run -------------------------------------------------------------------------------


async def register(deps: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The county's people, registered through the batch handlers `--register-at-once` at a time."""
    scale = SCALES[args.scale]
    refused = 0
    began = time.perf_counter()
    for handler, commands in (
        (handlers.register_subjects, list(subjects(scale, args.seed, TODAY, args.subjects))),
        (handlers.register_cadres, list(cadres(scale, args.seed, TODAY, args.cadres))),
    ):
        for start in range(0, len(commands), args.register_at_once):
            for outcome in await handler(deps, commands[start : start + args.register_at_once], META):
                if isinstance(outcome, Refused):
                    refused += 1
                elif isinstance(outcome, BaseException):
                    raise outcome
    seconds = time.perf_counter() - began
    return {"people": args.subjects + args.cadres, "refused": refused, "seconds": round(seconds, 3)}


async def plan_of(deps: Any, args: argparse.Namespace) -> tuple[Plan, dict[str, Any]]:
    """The solver's plan for the registered people, as an operator would be offered it."""
    scale = SCALES[args.scale]
    subject_ids = [c.subject_id for c in subjects(scale, args.seed, TODAY, args.subjects)]
    cadre_ids = [c.cadre_id for c in cadres(scale, args.seed, TODAY, args.cadres)]
    states = await deps.repo.subjects(subject_ids)
    cadre_states = await deps.repo.cadres(cadre_ids)
    views = [pairings.subject_view(s) for s in states.values() if s.details is not None]
    cadre_views = [c.view() for c in cadre_states.values() if c.details is not None]
    began = time.perf_counter()
    suggested = suggest(views, cadre_views)
    seconds = time.perf_counter() - began
    used = {s.cadre_id for s in suggested.placed}
    unplaced = [u.subject_id for u in suggested.unplaced]
    unused = [c.cadre_id for c in cadre_views if c.cadre_id not in used]
    plan = Plan(suggested.placed, unplaced, unused, args.seed)
    facts = {
        "pairings": len(suggested.placed),
        "unplaced_subjects": len(unplaced),
        "unused_cadres": len(unused),
        "solver_seconds": round(seconds, 3),
    }
    return plan, facts


async def one_by_one(deps: Any, batch: Batch) -> list[dict[str, Any]]:
    """Accepting as it worked before: `pair` for each in turn."""
    results = []
    for subject_id, cadre_id in batch.pairs:
        try:
            done = await handlers.pair(deps, PairSubject(subject_id=subject_id, cadre_id=cadre_id), META)
        except Refused as refused:
            codes = [{"code": r.code, "message": r.message} for r in refused.refusals]
            results.append(
                {"subject_id": subject_id, "cadre_id": cadre_id, "accepted": False, "refusals": codes}
            )
        else:
            results.append(
                {
                    "subject_id": subject_id,
                    "cadre_id": cadre_id,
                    "accepted": True,
                    "position": done.last_position,
                }
            )
    return results


async def measure(url: Any, nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carepair-bench-accept-") as tmp:
        stream = f"CAREPAIR_BENCH_ACCEPT_{uuid.uuid4().hex[:8].upper()}"
        database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        settings = PairingSettings(**settings_values(Path(tmp), nats_url, stream, database_url))
        app = create_app(settings, ManualClock.on(TODAY))
        try:
            async with running_app(app) as client:
                return await measure_with(app.state.runtime.deps, client, args)
        finally:
            await delete_stream(nats_url, stream)


async def measure_with(deps: Any, client: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    registration = await register(deps, args)
    print(f"registered {registration['people']} people in {registration['seconds']:.1f} s", flush=True)
    plan, facts = await plan_of(deps, args)
    print(f"plan: {facts['pairings']} pairings in {facts['solver_seconds']:.1f} s", flush=True)
    results: dict[str, Any] = {"registration": registration, "plan": facts}

    if args.one_by_one:
        batch = plan.batch(args.one_by_one, args.refused)
        with stages(deps) as timed:
            began = time.perf_counter()
            outcomes = await one_by_one(deps, batch)
            seconds = time.perf_counter() - began
        accepted = sum(r["accepted"] for r in outcomes)
        results["one_by_one"] = summary(
            len(batch.pairs), [seconds], unexpected(batch, outcomes), accepted, timed
        )
        print(line("one_by_one", results["one_by_one"]), flush=True)

    spent, wrong, accepted, pairs = [], 0, 0, 0
    with stages(deps) as timed:
        for _ in range(args.batches):
            batch = plan.batch(args.batch, args.refused)
            began = time.perf_counter()
            outcomes = await handlers.accept_suggestions(deps, batch.pairs, META)
            spent.append(time.perf_counter() - began)
            wrong += unexpected(batch, outcomes)
            accepted += sum(r["accepted"] for r in outcomes)
            pairs += len(batch.pairs)
    results["handler"] = summary(pairs, spent, wrong, accepted, timed)
    print(line("handler", results["handler"]), flush=True)

    spent, wrong, accepted, pairs = [], 0, 0, 0
    for _ in range(args.http_batches):
        batch = plan.batch(args.batch, args.refused)
        body = {"pairs": [{"subject_id": s, "cadre_id": c} for s, c in batch.pairs]}
        began = time.perf_counter()
        response = await client.post("/suggestions/accept", json=body)
        spent.append(time.perf_counter() - began)
        response.raise_for_status()
        outcomes = response.json()["results"]
        wrong += unexpected(batch, outcomes)
        accepted += sum(r["accepted"] for r in outcomes)
        pairs += len(batch.pairs)
    if args.http_batches:
        results["http"] = summary(pairs, spent, wrong, accepted, {})
        print(line("http", results["http"]), flush=True)

    if args.profile:
        batch = plan.batch(args.batch, args.refused)
        profile = cProfile.Profile()
        profile.enable()
        began = time.perf_counter()
        outcomes = await handlers.accept_suggestions(deps, batch.pairs, META)
        seconds = time.perf_counter() - began
        profile.disable()
        results["profile"] = {
            "pairs": len(batch.pairs),
            "seconds": round(seconds, 3),
            "unexpected": unexpected(batch, outcomes),
            "top_cumulative": top(profile, args.top),
            "top_own": own_top(profile, args.top),
        }
    return results


def own_top(profile: cProfile.Profile, count: int) -> list[dict[str, Any]]:
    entries = top(profile, 10**6)
    entries.sort(key=lambda e: e["own_s"], reverse=True)
    return entries[:count]


def line(name: str, result: dict[str, Any]) -> str:
    return (
        f"{name:<11} {result['pairs']} pairs ({result['accepted']} accepted, "
        f"{result['unexpected']} unexpected) in {result['seconds']:.2f} s: "
        f"{result['pairs_per_second']:,.1f} pairs/s"
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    with nats_server() as nats_url:
        async with fresh_database(server, "accepting", event_store=False) as url:
            measured = await measure(url, nats_url, args)
        version = await nats_version(nats_url)
    return {
        "schema": 1,
        "bench": "accepting",
        "started_at": started.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, version),
        "contention": {"before": before, "after": contention()},
        "settings": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "output"},
            "service": "the pairing app in the bench's process and loop; HTTP through ASGI, no socket",
            "database": "PostgreSQL",
        },
        **measured,
    }


def entry(argv: list[str]) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    suffix = "-profile" if args.profile else ""
    output = args.output or (
        ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M}-vm-accepting{suffix}.json"
    )
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
