"""`POST /suggestions/accept` against requests sent at once and back to back, on SQLite and PostgreSQL.

No wait for the read models between requests: every outcome is decided on what was committed.
Each round uses people of its own (households and cadres no other round uses).
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support.identity import resident_id

pytestmark = [pytest.mark.nats]

ROUNDS = 6
VILLAGE = {"county_code": "622925", "township_code": "622925100", "village_code": "622925100201"}
_serials = itertools.count(300)
_rounds = itertools.count(1)


def girl(household: str) -> dict[str, Any]:
    born = date(2014, 5, 17)
    return {
        "name": "马小花",
        "gender": "female",
        "birth_date": born.isoformat(),
        "id_number": resident_id(VILLAGE["county_code"], born, True, next(_serials)),
        "residence": VILLAGE,
        "category": "orphan",
        "orphan_type": "orphan",
        "care_setting": "scattered",
        "household_id": household,
        "guardian": {"name": "马奶奶", "gender": "female", "relation": "祖母", "phone": "13800138000"},
    }


def woman(name: str, n: int) -> dict[str, Any]:
    return {
        "name": name,
        "gender": "female",
        "birth_date": (date(1980, 3, 1) + timedelta(days=n)).isoformat(),  # no two rounds share a cadre
        "phone": "13900139000",
        "unit_id": "u-civil",
        "unit_name": "县民政局",
        "post": "局长",
        "rank": {"tier": "township", "title": "principal"},
        "party_member": True,
        "kind": "unit_leader",
        "links": {"village_codes": [VILLAGE["village_code"]]},
    }


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def accept(client: httpx.AsyncClient, *pairs: tuple[str, str]) -> httpx.Response:
    body = {"pairs": [{"subject_id": s, "cadre_id": c} for s, c in pairs]}
    return await client.post("/suggestions/accept", json=body)


def codes(result: dict[str, Any]) -> set[str]:
    return {r["code"] for r in result.get("refusals", ())}


async def test_two_accepts_racing_for_one_cadre_end_with_one_pairing(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        n = next(_rounds)
        one = await created(client, "/subjects", girl(f"h-race-{n}-a"))
        other = await created(client, "/subjects", girl(f"h-race-{n}-b"))
        cadre = await created(client, "/cadres", woman("李芳", n))
        answers = await asyncio.gather(accept(client, (one, cadre)), accept(client, (other, cadre)))
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        results = [a.json()["results"][0] for a in answers]
        assert sorted(r["accepted"] for r in results) == [False, True], results
        [lost] = [r for r in results if not r["accepted"]]
        assert codes(lost) == {"cadre_already_paired"}


async def test_an_accept_racing_a_pairing_of_its_subject_ends_with_one(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        n = next(_rounds)
        subject = await created(client, "/subjects", girl(f"h-race-{n}"))
        first = await created(client, "/cadres", woman("李芳", n))
        second = await created(client, "/cadres", woman("张丽", n))
        accepted, paired = await asyncio.gather(
            accept(client, (subject, first)),
            client.post("/pairings", json={"subject_id": subject, "cadre_id": second}),
        )
        [result] = accepted.json()["results"]
        if result["accepted"]:
            assert paired.status_code == 422, paired.text
            assert paired.json()["error"]["code"] == "subject_already_paired"
        else:
            assert paired.status_code == 201, paired.text
            assert "subject_already_paired" in codes(result)


async def test_accepts_back_to_back_see_what_the_one_before_committed(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        n = next(_rounds)
        one = await created(client, "/subjects", girl(f"h-seq-{n}-a"))
        other = await created(client, "/subjects", girl(f"h-seq-{n}-b"))
        first = await created(client, "/cadres", woman("李芳", n))
        second = await created(client, "/cadres", woman("张丽", n))
        done = await accept(client, (one, first))
        assert done.json()["accepted"] == 1, done.text
        again = (await accept(client, (other, first), (one, second), (other, second))).json()
        assert [r["accepted"] for r in again["results"]] == [False, False, True], again
        assert codes(again["results"][0]) == {"cadre_already_paired"}
        assert "subject_already_paired" in codes(again["results"][1])
