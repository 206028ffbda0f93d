"""`bench.bulk` and `bench.reading` at a small size: the store they fill holds what the rules allow.

A few dozen generated people are loaded both ways (the bulk path and the store's own appends);
the store, the registries, the key store and the read models are then read back directly and
checked against the generator and the pairing rules. The reading bench then serves the loaded
database with the real service and answers cards and a unit's pairings. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from bench import bulk, reading
from bench.infra import dsn
from bench.province import SCALES, cadres, subjects
from services.pairing.adapters.registries import Fingerprints, SqlRegistries
from services.pairing.adapters.repository import PairingRepository
from services.pairing.bootstrap import fingerprint_secret
from services.pairing.domain.pairing import subject_view
from services.pairing.domain.rules import PairingContext, check_pairing
from services.pairing.handlers import PairingDeps
from services.pairing.views import cards
from shared.clock import ManualClock
from shared.contracts import CONTRACTS
from shared.database import create_engine_for
from shared.eventstore.opener import EventOpener
from shared.eventstore.sql import SqlEventStore
from shared.personal import MasterKey, PayloadSealer, SqlKeyStore

pytestmark = [pytest.mark.postgres]

PEOPLE = 40
SEED = 7


@pytest.fixture
def base(pg_server_url: URL) -> Iterator[URL]:
    url = pg_server_url.set(database=f"carepair_test_bulk_{uuid.uuid4().hex[:10]}")
    yield url
    reading.drop(url)


def query(url: URL, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn(url)) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def one(url: URL, sql: str) -> object:
    return query(url, sql)[0][0]


@pytest.mark.parametrize("path", ["bulk", "store"])
def test_a_load_registers_everyone_and_pairs_by_the_rules(
    base: URL, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pages, analysed after each, so the projection runs in many pages as at scale.
    monkeypatch.setattr(bulk, "PAGE", 10)
    monkeypatch.setattr(bulk, "ANALYZE_EVERY", 1)
    loaded = asyncio.run(
        bulk.load(base, "county", SEED, path=path, subjects_count=PEOPLE, cadres_count=PEOPLE)
    )
    pairing, keys = bulk.databases(base)
    generated = list(subjects(SCALES["county"], SEED, bulk.TODAY, PEOPLE))
    generated_cadres = list(cadres(SCALES["county"], SEED, bulk.TODAY, PEOPLE))

    by_type = dict(query(pairing, "SELECT event_type, count(*) FROM events GROUP BY 1"))  # type: ignore[arg-type]
    assert by_type["SubjectRegistered"] == len(generated) == PEOPLE
    assert by_type["CadreRegistered"] == len(generated_cadres) == PEOPLE
    paired = by_type.get("SubjectPaired", 0)
    assert paired == loaded["counts"]["paired_subjects"] > PEOPLE // 2
    assert by_type.get("CadrePlaced", 0) == loaded["counts"]["placed_cadres"]
    # Dense positions from 1, one per event.
    total, low, high = query(pairing, "SELECT count(*), min(position), max(position) FROM events")[0]
    assert total == high == loaded["events"] == sum(by_type.values()) and low == 1

    # Personal data sealed: no generated name or ID number in the stored JSON, a data key each.
    first = generated[0]
    stored = one(pairing, "SELECT string_agg(data::text, '') FROM events")
    assert isinstance(stored, str) and "$personal" in stored
    assert first.id_number not in stored and first.name not in stored and first.phone not in stored
    assert one(keys, "SELECT count(*) FROM data_keys") == 2 * PEOPLE

    # The registries, as the appends' effects keep them.
    assert one(pairing, "SELECT count(*) FROM subject_fingerprints") == PEOPLE
    assert one(pairing, "SELECT count(*) FROM household_members") == PEOPLE
    assert one(pairing, "SELECT count(*) FROM cadre_registry") == PEOPLE
    assert one(pairing, "SELECT count(*) FROM active_pairings") == paired
    assert one(pairing, "SELECT coalesce(sum(subjects), 0) FROM cadre_holdings") == paired
    assert not query(
        pairing, "SELECT cadre_id FROM active_pairings GROUP BY 1 HAVING count(DISTINCT household_id) > 1"
    )
    # A placed cadre's registry links are the one village placed on (units link three, or townships).
    placed = one(
        pairing,
        "SELECT count(*) FROM cadre_registry WHERE json_array_length(links -> 'village_codes') = 1 "
        "AND cadre_id IN (SELECT substr(stream_id, 7) FROM events WHERE event_type = 'CadrePlaced')",
    )
    assert placed == by_type.get("CadrePlaced", 0) == loaded["counts"]["placed_cadres"]

    # The read models, filled by the projection.
    assert one(pairing, "SELECT count(*) FROM subject_index") == PEOPLE
    assert one(pairing, "SELECT count(*) FROM cadre_index") == PEOPLE
    assert one(pairing, "SELECT count(*) FROM pairing_history") == paired
    assert one(pairing, "SELECT position FROM consumer_checkpoints WHERE consumer = 'pairing-index'") == high
    # As a running service leaves them: its relay and its reactor past every event.
    assert one(pairing, "SELECT position FROM relay_progress") == high
    assert (
        one(pairing, "SELECT position FROM consumer_checkpoints WHERE consumer = 'pairing-reassignment'")
        == high
    )

    # Every pair passes the rules on the stored streams, but for the rules it overrode.
    names = {c.subject_id: c.name for c in generated} | {c.cadre_id: c.name for c in generated_cadres}
    asyncio.run(_check_pairs(pairing, keys, names))


async def _check_pairs(pairing: URL, keys: URL, names: dict[str, str]) -> None:
    engine, keys_engine = create_engine_for(pairing), create_engine_for(keys)
    key = bulk.bench_master_key(SEED)
    sealer = PayloadSealer(SqlKeyStore(keys_engine, MasterKey.from_base64("k1", key)))
    store = SqlEventStore(engine, "pairing", sealer)
    repo = PairingRepository(
        store, EventOpener(CONTRACTS, sealer), SqlRegistries(engine, Fingerprints(fingerprint_secret(key)))
    )
    deps = PairingDeps(repo=repo, engine=engine, clock=ManualClock.on(bulk.TODAY))
    try:
        rows = query(pairing, "SELECT subject_id, cadre_id, household_id FROM active_pairings")
        checked = 0
        for subject_id, cadre_id, household_id in rows:
            subject = await repo.subject(str(subject_id))
            cadre = await repo.cadre(str(cadre_id))
            assert subject.current is not None and subject.current.cadre_id == cadre_id
            members = [
                m
                for (m,) in query(
                    pairing, f"SELECT subject_id FROM household_members WHERE household_id = '{household_id}'"
                )
            ]
            household = tuple(
                [subject_view(subject)]
                + [subject_view(await repo.subject(str(m))) for m in members if m != subject_id]
            )
            refusals = check_pairing(subject_view(subject), cadre.view(), PairingContext(household=household))
            assert {r.code for r in refusals} <= set(subject.current.overridden), (subject_id, refusals)
            # The contact card shows both people as generated.
            card = await cards.contact_card(deps, str(subject_id))
            assert card is not None and card["status"] == "paired"
            assert card["subject"]["name"] == names[str(subject_id)]
            assert card["cadre"]["cadre_id"] == cadre_id and card["cadre"]["name"] == names[str(cadre_id)]
            checked += 1
        assert checked == len(rows) > 0
        unpaired = set(names) - {str(s) for s, _, _ in rows} - {str(c) for _, c, _ in rows}
        for subject_id in sorted(s for s in unpaired if s.startswith("s-")):
            card = await cards.contact_card(deps, subject_id)
            assert card is not None and card["status"] == "unpaired" and card["cadre"] is None
            assert card["subject"]["name"] == names[subject_id]
        # A unit's pairings: every pairing of its cadres, as the registry holds them.
        held: dict[str, set[tuple[str, str]]] = {}
        for subject_id, cadre_id, unit_id in query(
            pairing, "SELECT subject_id, cadre_id, unit_id FROM active_pairings"
        ):
            held.setdefault(str(unit_id), set()).add((str(subject_id), str(cadre_id)))
        for unit_id, pairs in held.items():
            listed = await cards.pairings_of_unit(deps, unit_id)
            assert {(p["subject_id"], p["cadre_id"]) for p in listed} == pairs
            assert all(p["ended_on"] is None for p in listed)
        assert await cards.pairings_of_unit(deps, "u-nowhere") == []
    finally:
        await engine.dispose()
        await keys_engine.dispose()


@pytest.mark.nats
def test_the_reading_benchmark_serves_cards_and_unit_pairings(
    base: URL, tmp_path: Path, pg_server_url: URL, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(bulk.load(base, "county", SEED, subjects_count=PEOPLE, cadres_count=PEOPLE))
    monkeypatch.setenv("CAREPAIR_BENCH_POSTGRES_URL", pg_server_url.render_as_string(hide_password=False))
    monkeypatch.setenv("CAREPAIR_BENCH_NATS_URL", nats_url)
    output = tmp_path / "reading.json"

    argv = [
        "--database",
        str(base.database),
        "--seed",
        str(SEED),
        "--reads",
        "20",
        "--in-process",
        "30",
        "--output",
        str(output),
    ]
    assert reading.entry(argv) == 0

    results = json.loads(output.read_text())
    assert results["bench"] == "reading" and results["subjects"] == PEOPLE
    pairing, _ = bulk.databases(base)
    units = one(pairing, "SELECT count(DISTINCT unit_id) FROM pairing_history")
    assert results["units_with_pairings"] == units
    for name in ("healthz", "card", "unit_pairings"):
        measured = results["reads"][name]
        assert (
            measured["requests"] == 20 and 0 < measured["p50_ms"] <= measured["p99_ms"] <= measured["max_ms"]
        )
        assert measured["bytes_median"] > 0
    for moment in ("started", "caught_up", "after_reads"):
        assert results["memory"][moment]["rss_mib"] > 0
    assert results["catch_up"]["samples"][-1]["behind"]["relay"] == 0
    for name in ("card_two_reads", "card_one_query", "unit_pairings_view"):
        assert results["in_process"][name]["requests"] == 30
