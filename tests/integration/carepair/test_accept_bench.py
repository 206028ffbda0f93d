"""`python -m bench.accepting` at a small size: it runs, measures every stage, every outcome as it must be.

No timing is asserted; the point is that the benchmark of docs/performance.md keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bench import accepting

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_the_accept_benchmark_measures_each_way_and_checks_every_outcome(
    tmp_path: Path, pg_server_url: URL, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPAIR_BENCH_POSTGRES_URL", pg_server_url.render_as_string(hide_password=False))
    monkeypatch.setenv("CAREPAIR_BENCH_NATS_URL", nats_url)
    output = tmp_path / "accepting.json"
    size = ["--subjects", "400", "--cadres", "400", "--batch", "20", "--one-by-one", "10"]

    assert accepting.entry([*size, "--profile", "--top", "5", "--output", str(output)]) == 0

    results = json.loads(output.read_text())
    assert results["bench"] == "accepting"
    assert results["machine"]["cpu_cores"] and results["contention"]["after"]
    assert results["registration"] == {**results["registration"], "people": 800, "refused": 0}
    for way, pairs in (("one_by_one", 10), ("handler", 40), ("http", 20)):
        measured = results[way]
        assert measured["pairs"] == pairs and measured["unexpected"] == 0, way
        assert measured["accepted"] == pairs - pairs // 10, way  # a tenth are pairs to refuse
        assert measured["pairs_per_second"] > 0
    for way in ("one_by_one", "handler"):
        stages = results[way]["stages"]
        assert list(stages) == list(accepting.STAGES)
        for name in accepting.STAGES:
            assert stages[name]["calls"] > 0 and stages[name]["seconds"] >= 0, (way, name)
        assert stages["appends"]["seconds"] > 0 and stages["store_commits"]["seconds"] > 0
    assert results["profile"]["unexpected"] == 0 and len(results["profile"]["top_cumulative"]) == 5
