"""The run's results: targets checked, saved as JSON, and rendered as the table in the docs.

`python -m bench.report bench/results/<file>.json` prints a saved run's Markdown again.
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"

# (name, numerator scenario, denominator scenario, target, what it checks)
RATIOS = (
    ("appends ÷ eventsourcing, 1 writer", "append.carepair.1", "append.eventsourcing.1", 2.0),
    ("appends ÷ eventsourcing, 16 writers", "append.carepair.16", "append.eventsourcing.16", 10.0),
    ("relay ÷ raw publish_async", "relay.drain", "relay.raw_publish_async", 0.8),
)
LATENCY = "latency.steady"
LATENCY_TARGET_MS = 50.0


def ratios(scenarios: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target the issue sets, with the measured value and whether it was met."""
    checked: list[dict[str, Any]] = []
    for name, top, bottom, target in RATIOS:
        if top in scenarios and bottom in scenarios:
            value = scenarios[top]["per_second"] / scenarios[bottom]["per_second"]
            checked.append(
                {"name": name, "value": round(value, 2), "target": f"≥ {target:g}×" if target >= 1
                 else f"≥ {target:.0%}", "met": value >= target}
            )
    if LATENCY in scenarios:
        p99 = scenarios[LATENCY]["p99_ms"]
        checked.append(
            {"name": "commit → read model p99", "value": p99, "unit": "ms",
             "target": f"< {LATENCY_TARGET_MS:g} ms", "met": p99 < LATENCY_TARGET_MS}
        )
    return checked


def save(results: dict[str, Any], output: Path | None = None) -> Path:
    # One file per run (not per day), so that runs on one machine can be compared.
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")  # in UTC, whatever zone the machine is in
    path = output or RESULTS_DIR / f"{stamp}-{socket.gethostname()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def markdown(results: dict[str, Any]) -> str:
    """The machine, the scenario table and the targets, as docs/performance.md shows them."""
    m = results["machine"]
    pg = m["postgresql_settings"]
    code = results.get("code", {})
    commit = (code.get("commit") or "unknown")[:10]
    if code.get("uncommitted_changes"):
        commit += " + local changes"
    if code.get("changed_during_run"):
        commit += ", changed during the run"
    lines = [
        f"Run {results['started_at']} of `{commit}` on `{m['hostname']}`: {m['cpu_model']}, "
        f"{m['cpu_cores']} cores, {m['memory_gb']} GB, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']} (synchronous_commit={pg['synchronous_commit']}, "
        f"fsync={pg['fsync']}), NATS {m['nats_server']} ({results['settings']['nats']}), "
        f"event loop {results['settings']['loop']}; contention before / after: "
        f"{_busy(results['contention']['before'])} / {_busy(results['contention']['after'])}.",
        "",
        "| scenario | operations | seconds | per second | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, row in results["scenarios"].items():
        lines.append(
            f"| {row['title']} (`{key}`) | {row['operations']} | {row['seconds']:.1f} | "
            f"{row['per_second']:,.0f} | {_ms(row.get('p50_ms'))} | {_ms(row.get('p99_ms'))} |"
        )
    lines += ["", "| target | measured | target | met |", "|---|---:|---:|:---:|"]
    for ratio in results["ratios"]:
        value = f"{ratio['value']} ms" if ratio.get("unit") == "ms" else f"{ratio['value']}×"
        lines.append(
            f"| {ratio['name']} | {value} | {ratio['target']} | {'yes' if ratio['met'] else 'no'} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _busy(facts: dict[str, Any]) -> str:
    text = "load " + " ".join(f"{v:.2f}" for v in facts["load_average"])
    if "cpu_pressure_some_avg60" in facts:
        text += f", CPU pressure {facts['cpu_pressure_some_avg60']:.0f}%"
    return text


if __name__ == "__main__":
    print(markdown(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
