"""No read model or registry keeps a personal value in clear: only the sealed events and keys hold them.

A subject and a cadre with distinctive personal values go through the API (registered,
paired with an override's reason, their situation noted, placed, unpaired with a note), and
then every table of the service's database but the event store's and the key store's is
scanned for those values in plain text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pairing.bootstrap import create_app
from services.pairing.settings import PairingSettings
from shared.clock import ManualClock
from shared.eventstore.schema import metadata as event_store_tables
from shared.personal.sql_keystore import data_keys
from tests.support.identity import resident_id
from tests.support.pairing_world import TODAY
from tests.support.service_app import running_app, settings_values

pytestmark = [pytest.mark.nats]

VILLAGE = {"county_code": "622925", "township_code": "622925100", "village_code": "622925100201"}
GIRL_BORN = date(2014, 5, 17)
ID_NUMBER = resident_id(VILLAGE["county_code"], GIRL_BORN, True, 321)

# Every value below is personal by its contract's marker, and appears nowhere else.
PERSONAL = {
    "subject name": "冶秀兰珍",
    "subject ID number": ID_NUMBER,
    "subject phone": "13987650001",
    "health": "先天性心脏病术后复查",
    "disability certificate": "62292520140517262X42",
    "address detail": "大南岔村七社十九号",
    "guardian name": "冶阿舍妈",
    "guardian phone": "13987650002",
    "cadre name": "马德福全",
    "cadre phone": "13987650003",
    "cadre post": "督查室副主任科员",
    "override reason": "监护人书面同意由马德福全结对",
    "situation note": "随祖母迁往临夏市务工",
    "placement reason": "驻大南岔村第一书记",
    "end note": "监护人申请更换结对干部",
}
NOT_READ_MODELS = {*event_store_tables.tables, data_keys.name}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def service(
    request: pytest.FixtureRequest, tmp_path: Path, nats_url: str, stream_name: str, nats_cleanup: None
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url").render_as_string(hide_password=False)
    settings = PairingSettings(**settings_values(tmp_path, nats_url, stream_name, database_url))
    app = create_app(settings, ManualClock.on(TODAY))
    async with running_app(app) as client:
        yield client, app


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    response = await client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response


async def plain_tables(engine: AsyncEngine) -> dict[str, str]:
    """Each table of the database but the event store's and the key store's, dumped as text."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        dumps = {}
        for name in sorted(set(names) - NOT_READ_MODELS):
            if name.startswith("alembic_version"):
                continue
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).mappings().all()
            dumps[name] = json.dumps([dict(r) for r in rows], ensure_ascii=False, default=str)
        return dumps


async def test_no_table_but_the_sealed_store_holds_a_personal_value_in_clear(
    service: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = service
    address = {
        "province": "甘肃省",
        "county": "和政县",
        "village": "大南岔村",
        "detail": PERSONAL["address detail"],
    }
    subject = await post(
        client,
        "/subjects",
        {
            "name": PERSONAL["subject name"],
            "gender": "female",
            "birth_date": GIRL_BORN.isoformat(),
            "id_number": ID_NUMBER,
            "phone": PERSONAL["subject phone"],
            "health": PERSONAL["health"],
            "disability_certificate": PERSONAL["disability certificate"],
            "registered_address": address,
            "residence_address": address,
            "residence": VILLAGE,
            "category": "orphan",
            "orphan_type": "orphan",
            "care_setting": "scattered",
            "guardian": {
                "name": PERSONAL["guardian name"],
                "gender": "female",
                "relation": "祖母",
                "phone": PERSONAL["guardian phone"],
            },
        },
    )
    subject_id = subject.json()["id"]
    cadre_body = {
        "name": PERSONAL["cadre name"],
        "gender": "male",
        "birth_date": "1970-02-03",
        "phone": PERSONAL["cadre phone"],
        "unit_id": "u-civil",
        "unit_name": "县民政局",
        "post": PERSONAL["cadre post"],
        "rank": {"tier": "township", "title": "principal"},
        "party_member": True,
        "kind": "unit_leader",
        "links": {"village_codes": [VILLAGE["village_code"]]},
    }
    cadre = await post(client, "/cadres", cadre_body)
    cadre_id = cadre.json()["id"]
    # A woman who could take the girl: pairing her with a man is then an override, with a reason.
    await post(client, "/cadres", {**cadre_body, "name": "李芳", "gender": "female", "phone": "", "post": ""})
    await post(
        client,
        "/pairings",
        {
            "subject_id": subject_id,
            "cadre_id": cadre_id,
            "overrides": {"girl_needs_female_cadre": PERSONAL["override reason"]},
        },
    )
    links = {"village_codes": [VILLAGE["village_code"]]}
    await post(
        client, f"/cadres/{cadre_id}/placement", {"links": links, "reason": PERSONAL["placement reason"]}
    )
    await post(
        client,
        f"/subjects/{subject_id}/situation",
        {"situation": "other", "effective_on": TODAY.isoformat(), "note": PERSONAL["situation note"]},
    )
    last = await post(client, f"/subjects/{subject_id}/pairing/end", {"note": PERSONAL["end note"]})
    await_last = {"Carepair-Await": last.headers["Carepair-Position"]}
    assert (await client.get("/overrides", headers=await_last)).status_code == 200

    tables = await plain_tables(app.state.runtime.engine)
    # The scan reads the read models, and they hold this subject's and this cadre's rows.
    for name in ("subject_index", "cadre_index", "pairing_history", "rule_overrides", "cadre_registry"):
        assert subject_id in tables[name] or cadre_id in tables[name], name
    found = {
        (what, table) for what, value in PERSONAL.items() for table, text in tables.items() if value in text
    }
    assert found == set()
    # The values did reach the service: its own queries open them from the sealed events.
    card = (await client.get(f"/subjects/{subject_id}/card", headers=await_last)).json()
    assert PERSONAL["subject name"] in json.dumps(card, ensure_ascii=False)
    audit = (await client.get("/overrides", headers=await_last)).json()
    assert PERSONAL["override reason"] in json.dumps(audit, ensure_ascii=False)
