"""`python -m bench.suggesting` at a small size: it plans every township, stage by stage and over
HTTP, matches the earlier view's plans, and draws the solver's curve.

No timing is asserted; the point is that the benchmark of docs/performance.md keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bench import suggesting

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

STAGES = {
    "gather_seconds",
    "gather_read_models_seconds",
    "gather_streams_seconds",
    "gather_subject_streams_seconds",
    "gather_cadre_streams_seconds",
    "eligibility_seconds",
    "solver_seconds",
    "total_seconds",
    "http_seconds",
}


def test_the_suggestion_benchmark_plans_every_township_and_draws_the_curve(
    tmp_path: Path, pg_server_url: URL, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPAIR_BENCH_POSTGRES_URL", pg_server_url.render_as_string(hide_password=False))
    monkeypatch.setenv("CAREPAIR_BENCH_NATS_URL", nats_url)
    output = tmp_path / "suggesting.json"

    argv = ["--subjects", "40", "--cadres", "40", "--curve", "30", "60", "--repeat", "1", "--profile"]
    assert suggesting.entry([*argv, "--output", str(output)]) == 0

    results = json.loads(output.read_text())
    assert results["bench"] == "suggesting"
    assert results["machine"]["cpu_cores"] and results["contention"]["after"]
    service = results["service"]
    assert service["registration"]["subjects"] == service["registration"]["cadres"] == 40
    townships = service["townships"]
    assert townships and all(code.startswith("622925") for code in townships)
    assert sum(t["subjects"] for t in townships.values()) == 40
    for township in townships.values():
        assert STAGES <= set(township)
        assert township["placed"] + township["unplaced"] == township["subjects"]
        assert 0 <= township["gather_streams_seconds"] <= township["gather_seconds"]
    summed = service["county_sum_over_townships"]
    assert summed["subjects"] == 40 and summed["placed"] > 0
    assert service["county_one_solve"]["placed"] > 0
    assert service["county_one_solve"]["profile"] and service["largest"]["profile"]
    assert service["nearest_400"]["township"] in townships and service["largest"]["township"] in townships
    compared = service["baseline"]["townships"]
    assert compared and all(t["same_plan"] for t in compared.values())
    points = results["curve"]["points"]
    assert [p["n"] for p in points] == [30, 60]
    assert all(p["placed"] > 0 and p["median_seconds"] > 0 for p in points)
