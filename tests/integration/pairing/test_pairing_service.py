"""The pairing service end to end in-process: HTTP in, events and read models checked."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from typing import Any

import httpx
import pytest

from tests.support.identity import resident_id, wrong_check_digit

pytestmark = [pytest.mark.nats]

VILLAGE = {"county_code": "622925", "township_code": "622925100", "village_code": "622925100201"}
_serial = itertools.count(50)


def id_number(born: date, female: bool) -> str:
    """A number no other test of this module uses."""
    return resident_id(VILLAGE["county_code"], born, female, next(_serial))


def girl(
    name: str = "马小花", born: date = date(2014, 5, 17), household: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "gender": "female",
        "birth_date": born.isoformat(),
        "id_number": id_number(born, True),
        "residence": VILLAGE,
        "category": "orphan",
        "orphan_type": "orphan",
        "care_setting": "scattered",
        "household_id": household,
        "guardian": {"name": "马奶奶", "gender": "female", "relation": "祖母", "phone": "13800138000"},
    }


def cadre(
    name: str, gender: str, born: date, unit: str = "u-civil", kind: str = "unit_leader"
) -> dict[str, Any]:
    return {
        "name": name,
        "gender": gender,
        "birth_date": born.isoformat(),
        "phone": "13900139000",
        "unit_id": unit,
        "unit_name": "县民政局",
        "post": "局长",
        "rank": {"tier": "township", "title": "principal"},
        "party_member": True,
        "kind": kind,
        "links": {"village_codes": [VILLAGE["village_code"]]},
    }


LAST: dict[str, str] = {}


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    LAST["position"] = response.headers["Carepair-Position"]
    return str(response.json()["id"])


def seen() -> dict[str, str]:
    """Read-your-writes: wait until the read models hold the last write."""
    return {"Carepair-Await": LAST["position"]}


async def test_a_girl_is_paired_with_a_woman_and_the_contact_card_shows_both(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    paired = await client.post("/pairings", json={"subject_id": subject, "cadre_id": woman})
    assert paired.status_code == 201, paired.text
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["subject"]["name"] == "马小花"
    assert card["guardian"]["relation"] == "祖母"
    assert card["cadre"]["name"] == "李芳"
    assert card["cadre"]["rank"] == "乡科级正职"
    assert card["status"] == "paired"
    assert "不少于4次" in card["work_standard"]


async def test_a_person_cannot_be_registered_twice(client: httpx.AsyncClient) -> None:
    body = girl()
    await created(client, "/subjects", body)
    again = await client.post("/subjects", json=body)
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "subject_duplicate"


async def test_a_bad_id_number_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    body = girl()
    body["id_number"] = wrong_check_digit(body["id_number"])
    response = await client.post("/subjects", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.id_number"


async def test_an_ineligible_person_is_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    body = girl()
    body.update(
        category="severely_disabled",
        disability_level=3,
        birth_date="1970-01-01",
        id_number=id_number(date(1970, 1, 1), True),
        disability_certificate="X1",
    )
    response = await client.post("/subjects", json=body)
    assert response.status_code == 422
    codes = {d["code"] for d in response.json()["error"]["details"]}
    assert {"disability_level_not_severe", "not_on_dibao"} <= codes


async def test_an_in_principle_rule_needs_an_operators_reason_which_is_audited(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    man = await created(client, "/cadres", cadre("王强", "male", date(1975, 1, 1)))
    refused = await client.post("/pairings", json={"subject_id": subject, "cadre_id": man})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "girl_needs_female_cadre"
    assert error["details"][0]["overridable"] is True
    overridden = await client.post(
        "/pairings",
        json={
            "subject_id": subject,
            "cadre_id": man,
            "overrides": {"girl_needs_female_cadre": "李芳长期驻外培训，监护人同意由王强结对"},
        },
    )
    assert overridden.status_code == 201, overridden.text
    audit = await client.get(
        "/overrides", headers={"Carepair-Await": overridden.headers["Carepair-Position"]}
    )
    [entry] = audit.json()
    assert entry["rule"] == "girl_needs_female_cadre"
    assert entry["reason"].startswith("李芳长期驻外培训")
    assert entry["operator"] == "operator:test"


async def test_two_operators_pairing_one_cadre_at_once_one_wins(client: httpx.AsyncClient) -> None:
    first = await created(client, "/subjects", girl("甲"))
    second = await created(client, "/subjects", girl("乙"))
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    answers = await asyncio.gather(
        client.post("/pairings", json={"subject_id": first, "cadre_id": woman}),
        client.post("/pairings", json={"subject_id": second, "cadre_id": woman}),
    )
    assert sorted(a.status_code for a in answers) == [201, 422]
    loser = next(a for a in answers if a.status_code == 422)
    assert loser.json()["error"]["code"] == "cadre_already_paired"


async def test_a_retiring_cadre_s_subject_waits_then_is_reassigned_within_the_unit(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    old = await created(client, "/cadres", cadre("李芳", "female", date(1966, 3, 1)))
    new = await created(client, "/cadres", cadre("张丽", "female", date(1985, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": old, "effective_on": "2026-01-10"})
    retired = await client.post(
        f"/cadres/{old}/retirement", json={"effective_on": "2026-06-30", "continues": False}
    )
    assert retired.status_code == 200

    async def waiting() -> list[dict[str, Any]]:
        for _ in range(100):
            queue = (await client.get("/reassignments")).json()
            if queue:
                return list(queue)
            await asyncio.sleep(0.05)
        raise AssertionError("the subject never reached the reassignment queue")

    [entry] = await waiting()
    assert entry["subject_id"] == subject and entry["unit_id"] == "u-civil"
    assert entry["waiting_since"] == "2026-06-30"
    moved = await client.post(
        "/reassignments", json={"subject_id": subject, "to_cadre_id": new, "effective_on": "2026-07-05"}
    )
    assert moved.status_code == 201, moved.text
    on_day = (await client.get(f"/subjects/{subject}/responsible", params={"on": "2026-06-30"})).json()
    assert on_day["cadre_ids"] == [old]  # retired that day: still responsible that day
    after = (await client.get(f"/subjects/{subject}/responsible", params={"on": "2026-07-05"})).json()
    assert after["cadre_ids"] == [new]
    gap = (await client.get(f"/subjects/{subject}/responsible", params={"on": "2026-07-01"})).json()
    assert gap["cadre_ids"] == []
    assert [h["end_reason"] for h in after["history"]] == ["cadre_retired", None]


async def test_a_retired_cadre_who_continues_keeps_the_pairing(client: httpx.AsyncClient) -> None:
    subject = await created(client, "/subjects", girl())
    old = await created(client, "/cadres", cadre("李芳", "female", date(1966, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": old})
    await client.post(f"/cadres/{old}/retirement", json={"effective_on": "2026-06-30", "continues": True})
    await asyncio.sleep(0.5)
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["status"] == "paired" and card["cadre"]["cadre_id"] == old


async def test_death_ends_the_pairing_at_once(client: httpx.AsyncClient) -> None:
    subject = await created(client, "/subjects", girl())
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": woman})
    died = await client.post(
        f"/subjects/{subject}/situation", json={"situation": "died", "effective_on": "2026-08-01"}
    )
    assert died.status_code == 200
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["status"] == "exited"
    # The cadre is free again for another household.
    other = await created(client, "/subjects", girl("另一个"))
    assert (await client.post("/pairings", json={"subject_id": other, "cadre_id": woman})).status_code == 201


async def test_a_move_opens_a_review_that_civil_affairs_and_the_unit_decide(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": woman})
    moved = await client.post(
        f"/subjects/{subject}/situation", json={"situation": "moved_residence", "effective_on": "2026-08-01"}
    )
    [review] = (
        await client.get("/reviews", headers={"Carepair-Await": moved.headers["Carepair-Position"]})
    ).json()
    decided = await client.post(
        f"/subjects/{subject}/reviews/{review['review_id']}/decision",
        json={
            "decision": "keep",
            "reason": "搬迁后仍在原村附近，继续结对",
            "decided_by": "civil_affairs",
            "unit_confirmed_by": "县民政局办公室",
        },
    )
    assert decided.status_code == 200, decided.text
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["status"] == "paired"


async def test_suggestions_place_a_township_and_are_accepted_in_bulk(client: httpx.AsyncClient) -> None:
    girl_id = await created(client, "/subjects", girl("小红"))
    boy = girl("小明")
    boy.update(gender="male", id_number=id_number(date(2012, 2, 2), False), birth_date="2012-02-02")
    boy_id = await created(client, "/subjects", boy)
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    man = await created(client, "/cadres", cadre("王强", "male", date(1985, 1, 1)))
    plan = await client.post("/suggestions", json={"township_code": VILLAGE["township_code"]}, headers=seen())
    assert plan.status_code == 200, plan.text
    placed = {p["subject_id"]: p["cadre_id"] for p in plan.json()["placed"]}
    assert placed == {girl_id: woman, boy_id: man}
    assert all(p["explanation"] for p in plan.json()["placed"])
    accepted = await client.post(
        "/suggestions/accept", json={"pairs": [{"subject_id": s, "cadre_id": c} for s, c in placed.items()]}
    )
    assert accepted.json()["accepted"] == 2
    again = (
        await client.post(
            "/suggestions",
            json={"township_code": VILLAGE["township_code"]},
            headers={"Carepair-Await": accepted.headers["Carepair-Position"]},
        )
    ).json()
    assert again == {"placed": [], "unplaced": []}


async def test_a_girl_no_one_fits_is_explained(client: httpx.AsyncClient) -> None:
    girl_id = await created(client, "/subjects", girl())
    await created(client, "/cadres", cadre("王强", "male", date(1985, 1, 1)))
    plan = (
        await client.post("/suggestions", json={"township_code": VILLAGE["township_code"]}, headers=seen())
    ).json()
    [unplaced] = plan["unplaced"]
    assert unplaced["subject_id"] == girl_id
    assert any("40周岁" in reason for reason in unplaced["reasons"])


async def test_a_waiting_subject_gets_a_proposal_from_the_same_unit(client: httpx.AsyncClient) -> None:
    subject = await created(client, "/subjects", girl())
    old = await created(client, "/cadres", cadre("李芳", "female", date(1966, 3, 1)))
    await created(client, "/cadres", cadre("赵敏", "female", date(1982, 3, 1), unit="u-other"))
    new = await created(client, "/cadres", cadre("张丽", "female", date(1985, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": old})
    await client.post(f"/cadres/{old}/retirement", json={"effective_on": "2026-06-30", "continues": False})
    for _ in range(100):
        answer = await client.get(f"/reassignments/{subject}/proposal")
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert answer.status_code == 200, answer.text
    assert [p["cadre_id"] for p in answer.json()["proposed"]] == [new]


async def test_a_move_to_another_township_makes_the_rules_look_at_the_new_residence(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": woman})
    elsewhere = {"county_code": "622925", "township_code": "622925101", "village_code": "622925101202"}
    moved = await client.post(
        f"/subjects/{subject}/situation",
        json={"situation": "moved_residence", "effective_on": "2026-08-01", "new_residence": elsewhere},
    )
    assert moved.status_code == 200
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["subject"]["residence"]["township_code"] == "622925101"
    [review] = (
        await client.get("/reviews", headers={"Carepair-Await": moved.headers["Carepair-Position"]})
    ).json()
    changed = await client.post(
        f"/subjects/{subject}/reviews/{review['review_id']}/decision",
        json={
            "decision": "change",
            "reason": "已搬至其他乡镇，由常住地干部结对",
            "decided_by": "civil_affairs",
            "unit_confirmed_by": "县民政局办公室",
        },
    )
    assert changed.status_code == 200, changed.text
    local = await created(
        client,
        "/cadres",
        {
            **cadre("马兰", "female", date(1983, 3, 1), unit="u-town"),
            "links": {"village_codes": [elsewhere["village_code"]]},
        },
    )
    assert (
        await client.post("/pairings", json={"subject_id": subject, "cadre_id": woman})
    ).status_code == 422
    assert (
        await client.post("/pairings", json={"subject_id": subject, "cadre_id": local})
    ).status_code == 201


async def test_a_rank_change_that_breaks_a_rule_opens_a_review_and_one_that_does_not_keeps_it_quiet(
    client: httpx.AsyncClient,
) -> None:
    disabled = girl("马大哥")
    disabled.update(
        gender="male",
        category="severely_disabled",
        birth_date="1970-01-01",
        id_number=id_number(date(1970, 1, 1), False),
        disability_level=1,
        disability_certificate="62292519700101",
        dibao={"area": "rural", "grade": 1},
        orphan_type=None,
        care_setting="scattered",
    )
    subject = await created(client, "/subjects", disabled)
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1980, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": woman})
    promoted = await client.post(
        f"/cadres/{woman}/rank",
        json={
            "effective_on": "2026-09-01",
            "rank": {"tier": "county", "title": "deputy"},
            "kind": "unit_leader",
        },
    )
    assert promoted.status_code == 200
    await asyncio.sleep(0.5)
    assert (
        await client.get("/reviews", headers={"Carepair-Await": promoted.headers["Carepair-Position"]})
    ).json() == []
    # Now a county leader: county leaders pair with orphans only, so the pairing breaks a hard rule.
    leader = await client.post(
        f"/cadres/{woman}/rank",
        json={
            "effective_on": "2026-10-01",
            "rank": {"tier": "county", "title": "principal"},
            "kind": "county_leader",
        },
    )
    assert leader.status_code == 200
    for _ in range(100):
        reviews = (await client.get("/reviews")).json()
        if reviews:
            break
        await asyncio.sleep(0.05)
    [review] = reviews
    assert review["cause"] == "cadre_changed" and review["subject_id"] == subject
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["status"] == "paired"  # proposed for review, not changed silently


async def test_a_unit_with_no_linked_village_can_pair_once_the_county_office_places_it(
    client: httpx.AsyncClient,
) -> None:
    subject = await created(client, "/subjects", girl())
    unplaced = await created(
        client, "/cadres", {**cadre("周敏", "female", date(1981, 3, 1), unit="u-bank"), "links": {}}
    )
    refused = await client.post("/pairings", json={"subject_id": subject, "cadre_id": unplaced})
    assert refused.json()["error"]["code"] == "unit_not_placed"
    placed = await client.post(
        f"/cadres/{unplaced}/placement",
        json={
            "links": {"village_codes": [VILLAGE["village_code"]]},
            "reason": "县办统筹安排：该单位无帮扶村",
        },
    )
    assert placed.status_code == 200
    assert (
        await client.post("/pairings", json={"subject_id": subject, "cadre_id": unplaced})
    ).status_code == 201


async def test_a_retirement_dated_ahead_keeps_the_pairing_until_its_date(client: httpx.AsyncClient) -> None:
    subject = await created(client, "/subjects", girl())
    woman = await created(client, "/cadres", cadre("李芳", "female", date(1966, 3, 1)))
    await created(client, "/pairings", {"subject_id": subject, "cadre_id": woman})
    retired = await client.post(
        f"/cadres/{woman}/retirement", json={"effective_on": "2026-12-31", "continues": False}
    )
    assert retired.status_code == 200, retired.text
    await asyncio.sleep(0.5)  # what the reactor would do, it has done by now
    card = (await client.get(f"/subjects/{subject}/card")).json()
    assert card["status"] == "paired" and card["cadre"]["cadre_id"] == woman
    assert [c["message"] for c in card["scheduled"]] == ["结对干部将于2026-12-31退休"]
    assert (await client.get("/reassignments", headers=seen())).json() == []
    too_far = await client.post(
        f"/cadres/{woman}/retirement", json={"effective_on": "2028-06-30", "continues": False}
    )
    assert too_far.status_code == 422 and too_far.json()["error"]["code"] == "effective_on_too_far"
    died = await client.post(
        f"/subjects/{subject}/situation", json={"situation": "died", "effective_on": "2026-12-01"}
    )
    assert died.status_code == 422 and died.json()["error"]["code"] == "death_in_future"
