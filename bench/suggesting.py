"""`python -m bench.suggesting`: suggested pairings for a county's townships, and the solver's curve.

Two parts, both on people from `bench/province.py` (和政县, 622925, the county scale):

`service`: the real pairing app (`services.pairing.bootstrap.create_app`, started in-process
with its lifespan: event store, sealer with the SQL key store, registries, and the read models
filled by its own projection) on a fresh PostgreSQL database and a NATS server. The county's
subjects and cadres are registered through `handlers.register_subject` / `register_cadre`,
`--batch` at a time with `asyncio.gather`; once the read models have applied the last position,
each township of the county is planned twice:

- stage by stage, as `views.suggestions.suggestions` runs them: `gather` (the read models and
  registries, then the subjects' and the cadres' streams, timed apart), `eligibility`, and the
  solver (`domain.solver.suggest`);
- through `POST /suggestions` with the township's code, as an operator calls it (JSON included).

The API plans a township or a unit, not a county: the county's figure is the sum over its
townships, and, besides, one solve of everything the townships gathered together (what a
county scope would cost in the solver). `--baseline` times the view of an earlier commit (one
stream read per person, each subject read twice) on the township nearest 400 subjects and on the
largest, and checks both give the same plan.

`curve`: the solver alone, no database, on generated views at several n (subjects; the cadres
linked with their places come with them, about as many). Density stays the county's: n subjects
are the county's first n village by village (beyond 5,000, further generated copies of the
county on places of their own), so a larger n is a larger area, as a larger scope is. Each n is timed
`--repeat` times (the median kept); the fitted exponent of t against n and the ratio
t / (n log2 n), relative to the smallest n, show how it grows.

The result file goes to `bench/results/` with the machine's facts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

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
from services.pairing.domain import solver
from services.pairing.domain.commands import RegisterCadre, RegisterSubject
from services.pairing.domain.rules import CadreView, SubjectView
from services.pairing.domain.solver import Suggestions, suggest
from services.pairing.settings import PairingSettings
from services.pairing.views import suggestions as view
from shared.clock import ManualClock
from shared.contracts.people import Links, Place
from shared.divisions import divisions
from shared.eventstore import Metadata
from shared.web.consistency import wait_for_positions
from tests.support.service_app import running_app, settings_values

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 29)
COUNTY = SCALES["county"]
BASELINE = "f44e25f"  # the last commit whose view read each person's stream alone
CURVE = (250, 500, 1000, 2000, 4000, 8000)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.suggesting", description=__doc__)
    parser.add_argument("--subjects", type=int, default=COUNTY.subjects, help="subjects of the county")
    parser.add_argument("--cadres", type=int, default=COUNTY.cadres, help="cadres of the county")
    parser.add_argument("--seed", type=int, default=1, help="the generated people's seed")
    parser.add_argument("--batch", type=int, default=200, help="registrations gathered at once")
    parser.add_argument("--baseline", default=BASELINE, help="commit whose view to compare ('' for none)")
    parser.add_argument("--curve", type=int, nargs="*", default=list(CURVE), help="n of the solver's curve")
    parser.add_argument("--repeat", type=int, default=3, help="solves per n of the curve (median kept)")
    parser.add_argument("--skip-service", action="store_true", help="the curve only, no database")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the county's one solve and the largest township"
    )
    parser.add_argument("--top", type=int, default=15, help="functions kept from the profile")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


# --- the people as the solver sees them --------------------------------------------------


def subject_view(c: RegisterSubject) -> SubjectView:
    return SubjectView(
        subject_id=c.subject_id,
        household_id=c.household_id,
        name=c.name,
        category=c.category,
        gender=c.gender,
        birth_date=c.birth_date,
        residence=c.residence,
        registered=c.registered_place,
    )


def cadre_view(c: RegisterCadre) -> CadreView:
    return CadreView(
        cadre_id=c.cadre_id,
        name=c.name,
        kind=c.kind,
        gender=c.gender,
        birth_date=c.birth_date,
        rank=c.rank,
        party_member=c.party_member,
        links=c.links,
    )


@cache
def county_views(seed: int, copy: int) -> tuple[list[SubjectView], list[CadreView]]:
    """The county's people (seed `seed + copy`) as the solver sees them; copy k > 0 lives in a
    county of its own (the codes' first two digits made "9k"), so copies never share a place."""
    people = [subject_view(s) for s in subjects(COUNTY, seed + copy, TODAY)]
    staff = [cadre_view(c) for c in cadres(COUNTY, seed + copy, TODAY)]
    if copy == 0:
        return people, staff
    assert copy < 10, "at most ten copies of the county"

    def code(value: str) -> str:
        return f"9{copy}{value[2:]}" if value else value

    def place(p: Place) -> Place:
        return p.model_copy(
            update={
                "county_code": code(p.county_code),
                "township_code": code(p.township_code),
                "village_code": code(p.village_code),
            }
        )

    def links(k: Links) -> Links:
        return k.model_copy(
            update={
                "township_codes": tuple(map(code, k.township_codes)),
                "village_codes": tuple(map(code, k.village_codes)),
                "resident_village_code": code(k.resident_village_code),
                "resident_township_code": code(k.resident_township_code),
            }
        )

    return (
        [replace(s, residence=place(s.residence), registered=place(s.registered)) for s in people],
        [replace(c, links=links(c.links)) for c in staff],
    )


def scope_of(n: int, seed: int) -> tuple[list[SubjectView], list[CadreView]]:
    """n subjects at the county's density, as a scope of n would gather them: the county's
    subjects village by village (then those of further copies of it), and every cadre linked with
    a place of theirs, as the view gathers a township's (a village, a township, or the township
    of a resident village cadre)."""
    people: list[SubjectView] = []
    staff: list[CadreView] = []
    copy = 0
    while len(people) < n:
        county_people, county_staff = county_views(seed, copy)
        ordered = sorted(
            county_people, key=lambda s: (s.residence.village_code, s.household_id, s.subject_id)
        )
        taken = ordered[: n - len(people)]
        villages_in = {s.residence.village_code for s in taken}
        townships_in = {s.residence.township_code for s in taken}
        people += taken
        staff += [
            c
            for c in county_staff
            if villages_in.intersection(c.links.village_codes)
            or townships_in.intersection(c.links.township_codes)
            or c.links.resident_township_code in townships_in
        ]
        copy += 1
    return people, staff


def curve(sizes: Sequence[int], repeat: int, seed: int) -> dict[str, Any]:
    """The solver alone at each n; the fitted exponent and t / (n log2 n) relative to the first n."""
    points = []
    for n in sizes:
        people, staff = scope_of(n, seed)
        seconds, plan = [], None
        for _ in range(repeat):
            began = time.perf_counter()
            plan = suggest(people, staff)
            seconds.append(time.perf_counter() - began)
        assert plan is not None
        median = statistics.median(seconds)
        parts = solver_parts(people, staff)
        points.append(
            {
                "n": n,
                "cadres": len(staff),
                "people": len(people) + len(staff),
                "villages": len({s.residence.village_code for s in people}),
                "households": len({s.household_id for s in people}),
                "seconds": [round(s, 4) for s in seconds],
                "median_seconds": round(median, 4),
                "placed": len(plan.placed),
                "unplaced": len(plan.unplaced),
                "parts_seconds": parts,
            }
        )
        print(
            f"curve n={n:>6}: {median:8.3f} s, {len(plan.placed)} placed; "
            + ", ".join(f"{k} {v:.3f} s" for k, v in parts.items()),
            flush=True,
        )
    first = points[0]
    for point in points:
        n, t = point["n"], point["median_seconds"]
        point["seconds_per_n_log_n"] = t / (n * math.log2(n))
        point["ratio_to_first_n_log_n"] = (
            round(point["seconds_per_n_log_n"] / first["seconds_per_n_log_n"], 3)
            if first["median_seconds"]
            else None
        )
    return {
        "points": points,
        "fitted_exponent": fitted_exponent(points, "n"),
        "fitted_exponent_in_people": fitted_exponent(points, "people"),
    }


def solver_parts(people: Sequence[SubjectView], staff: Sequence[CadreView]) -> dict[str, float]:
    """One solve taken apart as `suggest` runs it: sorting and indexing the inputs, the graph (the
    rules' checks of the edges), the matching, and the plan with the reasons for the unplaced."""
    parts = {}
    began = time.perf_counter()
    problem = solver._Problem(people, staff, {}, {})  # noqa: SLF001 - the solver's own steps, timed apart
    parts["setup"] = time.perf_counter() - began
    began = time.perf_counter()
    graph = problem.graph()
    parts["graph"] = time.perf_counter() - began
    began = time.perf_counter()
    assigned = solver.match(graph)
    parts["matching"] = time.perf_counter() - began
    began = time.perf_counter()
    problem.suggestions(assigned)
    parts["plan_and_reasons"] = time.perf_counter() - began
    return {k: round(v, 4) for k, v in parts.items()}


def fitted_exponent(points: Sequence[dict[str, Any]], size: str) -> float | None:
    """The slope of log t against log `size` (least squares): 1 is linear, 2 quadratic."""
    usable = [(math.log(p[size]), math.log(p["median_seconds"])) for p in points if p["median_seconds"] > 0]
    if len(usable) < 2:
        return None
    mx = statistics.fmean(x for x, _ in usable)
    my = statistics.fmean(y for _, y in usable)
    sxx = sum((x - mx) ** 2 for x, _ in usable)
    return round(sum((x - mx) * (y - my) for x, y in usable) / sxx, 3) if sxx else None


# --- the service ---------------------------------------------------------------------------


def baseline_view(commit: str) -> ModuleType:
    """`views/suggestions.py` as it was at `commit`, loaded from git (its imports still hold)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:services/pairing/views/suggestions.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader(f"pairing_suggestions_{commit}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    exec(compile(source, f"{commit}:services/pairing/views/suggestions.py", "exec"), module.__dict__)  # noqa: S102
    return module


def pairs(plan: Suggestions) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    return (
        [(s.subject_id, s.cadre_id) for s in plan.placed],
        sorted((u.subject_id, u.codes) for u in plan.unplaced),
    )


async def timed_async(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = await work()
    return result, time.perf_counter() - began


async def register(deps: Any, commands: Sequence[Any], batch: int) -> tuple[float, int]:
    """Registers every command, `batch` at a time; the seconds taken and the last position."""
    meta = Metadata(actor="operator:bench")
    last = 0
    began = time.perf_counter()
    for start in range(0, len(commands), batch):
        results = await asyncio.gather(
            *(
                (handlers.register_subject if isinstance(c, RegisterSubject) else handlers.register_cadre)(
                    deps, c, meta
                )
                for c in commands[start : start + batch]
            )
        )
        last = max([last, *(r.last_position for r in results)])
    return time.perf_counter() - began, last


class Window:
    """The wall time from the first call into the wrapped methods to the end of the last: the
    subjects' and the cadres' streams are read at once, so their own times overlap."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    @property
    def seconds(self) -> float:
        return self.last - self.first if self.first is not None else 0.0

    @contextlib.contextmanager
    def around(self, owner: Any, name: str) -> Iterator[None]:
        original = getattr(owner, name)

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            self.first = began if self.first is None else min(self.first, began)
            try:
                return await original(*args, **kwargs)
            finally:
                self.last = max(self.last, time.perf_counter())

        setattr(owner, name, wrapped)
        try:
            yield
        finally:
            setattr(owner, name, original)


async def township_stages(deps: Any, township: str) -> tuple[view.Gathered, Suggestions, dict[str, Any]]:
    """One township planned as the view plans it, each stage timed; the read of the streams apart."""
    scope = view.Scope(township_code=township)
    window = Window()
    with (
        Timed(deps.repo, "subjects") as read_subjects,
        Timed(deps.repo, "cadres") as read_cadres,
        window.around(deps.repo, "subjects"),
        window.around(deps.repo, "cadres"),
    ):
        gathered, gather_s = await timed_async(lambda: view.gather(deps, scope))
    began = time.perf_counter()
    eligible, ineligible = view.eligibility(gathered.subjects, deps.today())
    eligibility_s = time.perf_counter() - began
    began = time.perf_counter()
    solved = suggest(
        eligible, gathered.cadres, held=gathered.held, paired_households=gathered.paired_households
    )
    solver_s = time.perf_counter() - began
    plan = Suggestions(solved.placed, [*solved.unplaced, *ineligible])
    stages = {
        "gather_seconds": round(gather_s, 4),
        "gather_read_models_seconds": round(gather_s - window.seconds, 4),
        "gather_streams_seconds": round(window.seconds, 4),  # the two reads overlap
        "gather_subject_streams_seconds": round(read_subjects.seconds, 4),
        "gather_cadre_streams_seconds": round(read_cadres.seconds, 4),
        "eligibility_seconds": round(eligibility_s, 4),
        "solver_seconds": round(solver_s, 4),
        "total_seconds": round(gather_s + eligibility_s + solver_s, 4),
    }
    return gathered, plan, stages


async def measure_service(url: Any, nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    people = list(subjects(COUNTY, args.seed, TODAY, args.subjects))
    staff = list(cadres(COUNTY, args.seed, TODAY, args.cadres))
    with tempfile.TemporaryDirectory(prefix="carepair-bench-suggest-") as tmp:
        stream = f"CAREPAIR_BENCH_SUGGEST_{uuid.uuid4().hex[:8].upper()}"
        database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        settings = PairingSettings(**settings_values(Path(tmp), nats_url, stream, database_url))
        app = create_app(settings, ManualClock.on(TODAY))
        try:
            async with running_app(app) as client:
                deps = app.state.runtime.deps
                subjects_s, _ = await register(deps, people, args.batch)
                cadres_s, last = await register(deps, staff, args.batch)
                began = time.perf_counter()
                await wait_for_positions(app.state.read_signals, {"pairing": last}, 600)
                caught_up = time.perf_counter() - began
                print(
                    f"registered {len(people)} subjects in {subjects_s:.1f} s, {len(staff)} cadres in "
                    f"{cadres_s:.1f} s; read models caught up {caught_up:.1f} s later",
                    flush=True,
                )
                result = await plan_townships(app, client, deps, people, args)
                result["registration"] = {
                    "subjects": len(people),
                    "cadres": len(staff),
                    "batch": args.batch,
                    "subjects_seconds": round(subjects_s, 2),
                    "cadres_seconds": round(cadres_s, 2),
                    "read_models_caught_up_after_seconds": round(caught_up, 2),
                }
                return result
        finally:
            print("deleting the bench's stream", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(delete_stream(nats_url, stream), 30)


async def plan_townships(
    app: Any, client: Any, deps: Any, people: Sequence[RegisterSubject], args: argparse.Namespace
) -> dict[str, Any]:
    sizes = Counter(s.residence.township_code for s in people)
    names = divisions("62")
    townships: dict[str, Any] = {}
    gathered_all: list[view.Gathered] = []
    for township in sorted(sizes):
        gathered, plan, stages = await township_stages(deps, township)
        gathered_all.append(gathered)
        response, http_s = await timed_async(
            lambda t=township: client.post("/suggestions", json={"township_code": t})
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(p["subject_id"], p["cadre_id"]) for p in body["placed"]] == pairs(plan)[0]
        townships[township] = {
            "name": names.name(township),
            "subjects": len(gathered.subjects),
            "cadres_considered": len(gathered.cadres),
            "placed": len(plan.placed),
            "unplaced": len(plan.unplaced),
            **stages,
            "http_seconds": round(http_s, 4),
        }
        print(
            f"{township} {names.name(township):<8} {len(gathered.subjects):>5} subjects "
            f"{len(gathered.cadres):>5} cadres: gather {stages['gather_seconds']:.3f} s, eligibility "
            f"{stages['eligibility_seconds']:.3f} s, solver {stages['solver_seconds']:.3f} s; "
            f"POST {http_s:.3f} s",
            flush=True,
        )
    nearest = min(townships, key=lambda t: (abs(townships[t]["subjects"] - 400), t))
    largest = max(townships, key=lambda t: (townships[t]["subjects"], t))
    county = await one_solve(gathered_all, deps.today(), args)
    summed = {
        key: round(sum(t[key] for t in townships.values()), 3)
        for key in ("subjects", "placed", "unplaced", "gather_seconds", "eligibility_seconds")
        + ("solver_seconds", "total_seconds", "http_seconds")
    }
    result: dict[str, Any] = {
        "townships": townships,
        "nearest_400": {"township": nearest, **townships[nearest]},
        "largest": {"township": largest, **townships[largest]},
        "county_sum_over_townships": summed,
        "county_one_solve": county,
    }
    if args.baseline:
        result["baseline"] = await compare_baseline(deps, args.baseline, [nearest, largest])
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        await view.suggestions(deps, view.Scope(township_code=largest))
        profile.disable()
        result["largest"]["profile"] = top(profile, args.top)
    return result


async def one_solve(
    gathered: Sequence[view.Gathered], today: date, args: argparse.Namespace
) -> dict[str, Any]:
    """Everything the townships gathered, planned in one solve (a county scope's solver cost)."""
    states = {s.subject_id: s for g in gathered for s in g.subjects}
    staff = {c.cadre_id: c for g in gathered for c in g.cadres}
    together = view.Gathered(
        list(states.values()),
        list(staff.values()),
        {k: v for g in gathered for k, v in g.held.items()},
        {k: v for g in gathered for k, v in g.paired_households.items()},
    )
    began = time.perf_counter()
    eligible, _ = view.eligibility(together.subjects, today)
    eligibility_s = time.perf_counter() - began
    profile = cProfile.Profile() if args.profile else None
    if profile is not None:
        profile.enable()
    began = time.perf_counter()
    plan = suggest(
        eligible, together.cadres, held=together.held, paired_households=together.paired_households
    )
    solver_s = time.perf_counter() - began
    if profile is not None:
        profile.disable()
    print(f"county in one solve: {len(eligible)} subjects, {len(staff)} cadres, solver {solver_s:.3f} s")
    found: dict[str, Any] = {
        "subjects": len(together.subjects),
        "cadres": len(together.cadres),
        "placed": len(plan.placed),
        "eligibility_seconds": round(eligibility_s, 4),
        "solver_seconds": round(solver_s, 4),
    }
    if profile is not None:
        found["profile"] = top(profile, args.top)
    return found


async def compare_baseline(deps: Any, commit: str, townships: Sequence[str]) -> dict[str, Any]:
    """The earlier view's `suggestions` on the same townships: its seconds, and the same plan."""
    old = baseline_view(commit)
    compared = {}
    for township in dict.fromkeys(townships):
        then, old_s = await timed_async(lambda t=township: old.suggestions(deps, old.Scope(t)))
        now, new_s = await timed_async(lambda t=township: view.suggestions(deps, view.Scope(t)))
        assert pairs(then) == pairs(now), f"{township}: the plan differs from {commit}'s"
        compared[township] = {
            "baseline_seconds": round(old_s, 3),
            "seconds": round(new_s, 3),
            "speedup": round(old_s / new_s, 1) if new_s else None,
            "same_plan": True,
        }
        print(f"{township}: {commit}'s view {old_s:.2f} s, now {new_s:.2f} s, same plan", flush=True)
    return {"commit": commit, "townships": compared}


# --- the run -------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    before, code = contention(), code_version()
    server = postgres_server_url()
    service: dict[str, Any] | None = None
    version = "not used"
    if not args.skip_service:
        with nats_server() as nats_url:
            async with fresh_database(server, "suggesting", event_store=False) as url:
                service = await measure_service(url, nats_url, args)
                print("dropping the bench's database", flush=True)
            try:
                version = await asyncio.wait_for(nats_version(nats_url), 30)
            except TimeoutError:
                version = "unknown"
    solver_curve = curve(args.curve, args.repeat, args.seed) if args.curve else None
    return {
        "schema": 1,
        "bench": "suggesting",
        "started_at": started.isoformat(timespec="seconds"),
        "code": {**code, "changed_during_run": code_version() != code},
        "machine": machine(server, version),
        "contention": {"before": before, "after": contention()},
        "settings": {
            "county": COUNTY.places[0],
            "subjects": args.subjects,
            "cadres": args.cadres,
            "seed": args.seed,
            "batch": args.batch,
            "baseline": args.baseline or None,
            "curve": args.curve,
            "repeat": args.repeat,
            "today": TODAY.isoformat(),
            "service": "the pairing app in-process (lifespan, ASGI transport), PostgreSQL",
        },
        "service": service,
        "curve": solver_curve,
    }


async def bounded(args: argparse.Namespace) -> dict[str, Any]:
    """`main`, then whatever the service left running cancelled and awaited for at most 10 s: a
    task that outlives its cancellation would keep `asyncio.run` from returning."""
    results = await main(args)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        _, pending = await asyncio.wait(leftovers, timeout=10)
        if pending:
            names = ", ".join(sorted(t.get_coro().__qualname__ for t in pending))  # type: ignore[union-attr]
            print(f"left running after cancellation: {names}", file=sys.stderr, flush=True)
            results["left_running"] = sorted(names.split(", "))
    return results


def entry(argv: list[str]) -> int:
    args = parse(argv)
    loop = asyncio.new_event_loop()
    try:
        results = loop.run_until_complete(bounded(args))
    finally:
        loop.close()
    output = args.output or (
        ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%dT%H%M}-vm-suggesting.json"
    )
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(entry(sys.argv[1:]))
