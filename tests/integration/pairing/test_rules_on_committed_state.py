"""Rules that span records hold for HTTP commands sent back to back, and at once.

Every request goes out as soon as the previous one answered (or together with it), with no
wait for the read models: a rule must decide on what was committed before the command began,
and a rule two commands race on must still hold when both commit. Each round uses people of
its own (a village and a household no other round uses), and every round must hold.
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

ROUNDS = 12
_serials = itertools.count(0)
_rounds = itertools.count(1)


class Round:
    """People of one round: a village of its own, and bodies for the pairing service's API."""

    def __init__(self) -> None:
        n = next(_rounds)
        self.n = n
        self.village = {
            "county_code": "622925",
            "township_code": "622925100",
            "village_code": f"622925100{200 + n:03d}",
        }
        self.household = f"h-round-{n}"

    def subject(self, name: str, gender: str = "female", born: date = date(2014, 5, 17)) -> dict[str, Any]:
        return {
            "name": name,
            "gender": gender,
            "birth_date": born.isoformat(),
            "id_number": resident_id("622925", born, gender == "female", next(_serials)),
            "residence": self.village,
            "category": "orphan",
            "orphan_type": "orphan",
            "care_setting": "scattered",
            "household_id": self.household,
            "guardian": {"name": "马奶奶", "gender": "female", "relation": "祖母", "phone": "13800138000"},
        }

    def cadre(self, name: str, gender: str, born: date, *, leader: bool = True) -> dict[str, Any]:
        rank = (
            {"tier": "township", "title": "principal"}
            if leader
            else {"tier": "below_section", "title": "clerk_1"}
        )
        return {
            "name": name,
            "gender": gender,
            "birth_date": (born + timedelta(days=self.n)).isoformat(),  # no two rounds share a cadre
            "phone": "13900139000",
            "unit_id": "u-civil",
            "unit_name": "县民政局",
            "post": "局长" if leader else "科员",
            "rank": rank,
            "party_member": True,
            "kind": "unit_leader" if leader else "unit_cadre",
            "links": {"village_codes": [self.village["village_code"]]},
        }


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def position(response: httpx.Response) -> int:
    return int(response.headers["Carepair-Position"].rsplit(":", 1)[1])


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_a_woman_registered_just_before_keeps_a_girl_from_a_man(client: httpx.AsyncClient) -> None:
    answers = []
    for _ in range(ROUNDS):
        r = Round()
        girl = await created(client, "/subjects", r.subject("马小花"))
        man = await created(client, "/cadres", r.cadre("王强", "male", date(1960, 1, 1)))
        await created(client, "/cadres", r.cadre("李芳", "female", date(1980, 3, 1)))
        answers.append(await client.post("/pairings", json={"subject_id": girl, "cadre_id": man}))
    assert [a.status_code for a in answers] == [422] * ROUNDS, [a.text for a in answers]
    assert {code(a) for a in answers} == {"girl_needs_female_cadre"}


async def test_a_woman_registered_at_once_either_came_after_the_pairing_or_stops_it(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(ROUNDS):
        r = Round()
        girl = await created(client, "/subjects", r.subject("马小花"))
        man = await created(client, "/cadres", r.cadre("王强", "male", date(1960, 1, 1)))
        woman, paired = await asyncio.gather(
            client.post("/cadres", json=r.cadre("李芳", "female", date(1980, 3, 1))),
            client.post("/pairings", json={"subject_id": girl, "cadre_id": man}),
        )
        assert woman.status_code == 201, woman.text
        if paired.status_code == 201:
            assert position(paired) < position(woman), "the man was paired after a woman was registered"
        else:
            assert code(paired) == "girl_needs_female_cadre", paired.text


async def test_a_second_member_registered_just_before_makes_the_household_need_a_leader(
    client: httpx.AsyncClient,
) -> None:
    answers = []
    for _ in range(ROUNDS):
        r = Round()
        first = await created(client, "/subjects", r.subject("马小军", "male", date(2012, 9, 3)))
        clerk = await created(client, "/cadres", r.cadre("王强", "male", date(1990, 1, 1), leader=False))
        await created(client, "/subjects", r.subject("马小梅", "female", date(2015, 3, 8)))
        answers.append(await client.post("/pairings", json={"subject_id": first, "cadre_id": clerk}))
    assert [a.status_code for a in answers] == [422] * ROUNDS, [a.text for a in answers]
    assert {code(a) for a in answers} == {"household_needs_leader"}


async def test_two_members_of_a_household_paired_at_once_end_with_one_cadre(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(ROUNDS):
        r = Round()
        first = await created(client, "/subjects", r.subject("马小花"))
        second = await created(client, "/subjects", r.subject("马小梅", born=date(2015, 3, 8)))
        one = await created(client, "/cadres", r.cadre("李芳", "female", date(1980, 3, 1)))
        other = await created(client, "/cadres", r.cadre("张丽", "female", date(1982, 4, 2)))
        answers = await asyncio.gather(
            client.post("/pairings", json={"subject_id": first, "cadre_id": one}),
            client.post("/pairings", json={"subject_id": second, "cadre_id": other}),
        )
        assert sorted(a.status_code for a in answers) == [201, 422], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 422)
        assert code(loser) == "household_has_other_cadre"


async def test_one_subject_paired_with_two_cadres_at_once_ends_with_one(client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        r = Round()
        girl = await created(client, "/subjects", r.subject("马小花"))
        one = await created(client, "/cadres", r.cadre("李芳", "female", date(1980, 3, 1)))
        other = await created(client, "/cadres", r.cadre("张丽", "female", date(1982, 4, 2)))
        answers = await asyncio.gather(
            client.post("/pairings", json={"subject_id": girl, "cadre_id": one}),
            client.post("/pairings", json={"subject_id": girl, "cadre_id": other}),
        )
        assert sorted(a.status_code for a in answers) == [201, 422], [a.text for a in answers]
        assert code(next(a for a in answers if a.status_code == 422)) == "subject_already_paired"


async def test_a_cadre_retired_just_before_takes_no_new_pairing(client: httpx.AsyncClient) -> None:
    answers = []
    for _ in range(ROUNDS):
        r = Round()
        girl = await created(client, "/subjects", r.subject("马小花"))
        woman = await created(client, "/cadres", r.cadre("李芳", "female", date(1966, 3, 1)))
        retired = await client.post(
            f"/cadres/{woman}/retirement", json={"effective_on": "2026-06-30", "continues": False}
        )
        assert retired.status_code == 200, retired.text
        answers.append(await client.post("/pairings", json={"subject_id": girl, "cadre_id": woman}))
    assert [a.status_code for a in answers] == [422] * ROUNDS, [a.text for a in answers]
    assert {code(a) for a in answers} == {"cadre_unavailable"}


async def test_a_cadre_who_stops_leading_just_before_cannot_take_a_household(
    client: httpx.AsyncClient,
) -> None:
    answers = []
    for _ in range(ROUNDS):
        r = Round()
        first = await created(client, "/subjects", r.subject("马小花"))
        await created(client, "/subjects", r.subject("马小梅", born=date(2015, 3, 8)))
        leader = await created(client, "/cadres", r.cadre("李芳", "female", date(1980, 3, 1)))
        changed = await client.post(
            f"/cadres/{leader}/rank",
            json={
                "effective_on": "2026-06-30",
                "rank": {"tier": "below_section", "title": "clerk_1"},
                "post": "科员",
                "kind": "unit_cadre",
            },
        )
        assert changed.status_code == 200, changed.text
        answers.append(await client.post("/pairings", json={"subject_id": first, "cadre_id": leader}))
    assert [a.status_code for a in answers] == [422] * ROUNDS, [a.text for a in answers]
    assert {code(a) for a in answers} == {"household_needs_leader"}


async def test_the_reassignment_proposal_is_one_that_confirming_accepts(client: httpx.AsyncClient) -> None:
    """A household of two loses its leader: the unit's clerk may not take it, so he is never proposed."""
    r = Round()
    first = await created(client, "/subjects", r.subject("马小花"))
    second = await created(client, "/subjects", r.subject("马小梅", born=date(2015, 3, 8)))
    old = await created(client, "/cadres", r.cadre("李芳", "female", date(1966, 3, 1)))
    await created(client, "/pairings", {"subject_id": first, "cadre_id": old})
    await created(client, "/pairings", {"subject_id": second, "cadre_id": old})
    clerk = await created(client, "/cadres", r.cadre("张丽", "female", date(1990, 1, 1), leader=False))
    retired = await client.post(
        f"/cadres/{old}/retirement", json={"effective_on": "2026-06-30", "continues": False}
    )
    assert retired.status_code == 200
    await _both_waiting(client, {first, second})

    nobody = (await client.get(f"/reassignments/{first}/proposal")).json()
    assert nobody["proposed"] == [], nobody
    assert any("领导干部" in reason for reason in nobody["unplaced_reasons"]), nobody
    refused = await client.post("/reassignments", json={"subject_id": first, "to_cadre_id": clerk})
    assert code(refused) == "household_needs_leader"

    leader = await created(client, "/cadres", r.cadre("赵敏", "female", date(1978, 1, 1)))
    for subject in (first, second):
        answer = await client.get(f"/reassignments/{subject}/proposal")
        proposed = [p["cadre_id"] for p in answer.json()["proposed"]]
        assert proposed == [leader], answer.text
        confirmed = await client.post(
            "/reassignments", json={"subject_id": subject, "to_cadre_id": proposed[0]}
        )
        assert confirmed.status_code == 201, confirmed.text


async def _both_waiting(client: httpx.AsyncClient, subjects: set[str]) -> None:
    """Waits until the retirement's reaction has ended both pairings (it ends one at a time)."""
    for _ in range(200):
        queue = (await client.get("/reassignments")).json()
        if subjects <= {entry["subject_id"] for entry in queue}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{subjects} never both waited for a new cadre")
