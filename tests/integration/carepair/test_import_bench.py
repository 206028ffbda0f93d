"""`python -m bench.importing` at a small size: it runs, measures every stage, imports every row.

No timing is asserted; the point is that the benchmark of docs/performance.md keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bench import importing

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_the_import_benchmark_measures_every_stage_of_both_lists(
    tmp_path: Path, pg_server_url: URL, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPAIR_BENCH_POSTGRES_URL", pg_server_url.render_as_string(hide_password=False))
    monkeypatch.setenv("CAREPAIR_BENCH_NATS_URL", nats_url)
    output = tmp_path / "importing.json"

    argv = ["--subjects", "20", "--cadres", "20", "--batch-size", "8", "--profile", "--output", str(output)]
    assert importing.entry(argv) == 0

    results = json.loads(output.read_text())
    assert results["bench"] == "importing"
    assert results["machine"]["cpu_cores"] and results["contention"]["after"]
    for kind in ("subjects", "cadres"):
        measured = results["lists"][kind]
        assert measured["rows"] == measured["imported"] == 20
        assert list(measured["stages"]) == list(importing.STAGES)
        for stage in measured["stages"].values():
            assert stage["rows"] == 20 and stage["seconds"] > 0 and stage["rows_per_second"] > 0
        assert measured["stages"]["import"]["outcomes"] == {"imported": 20}
        assert measured["stages"]["api_generated"]["refused"] == {}  # the generated county passes the API
        handler = measured["stages"]["handler"]
        assert handler["store_batches"] >= 1 and handler["append_mean_ms"] > 0
        assert measured["profiles"]["service"] and measured["profiles"]["importer"]
