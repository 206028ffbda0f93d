"""Registering many people in one request (an import): each row answered as it would be alone.

A batch is a way to send rows, not a way around a rule: every row is checked and decided on
its own, a refused row fails alone with the status and the error its single request gets,
and the rows that pass are registered exactly as `POST /subjects` and `POST /cadres` register.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import httpx
import pytest

from tests.integration.pairing.test_pairing_service import cadre, girl
from tests.support.identity import wrong_check_digit

pytestmark = [pytest.mark.nats]


def comparable(status: int, error: dict[str, Any]) -> tuple[int, str, list[Any]]:
    """What a refusal says, without the request's own correlation id and the id it drew."""
    details = [{k: v for k, v in d.items() if k != "subject_id"} for d in error["details"]]
    return status, error["code"], details


async def alone(client: httpx.AsyncClient, path: str, body: Any) -> tuple[int, str, list[Any]]:
    response = await client.post(path, json=body)
    return comparable(response.status_code, response.json()["error"])


async def test_good_rows_are_registered_and_each_bad_row_fails_as_it_would_alone(
    client: httpx.AsyncClient,
) -> None:
    registered = girl("马已有")
    assert (await client.post("/subjects", json=registered)).status_code == 201
    good = [girl("马一"), girl("马二")]
    bad_digit = girl("马三")
    bad_digit["id_number"] = wrong_check_digit(bad_digit["id_number"])
    unknown_field = {**girl("马四"), "nickname": "小四"}
    too_old = girl("马五", born=date(1990, 1, 1))  # an orphan of 36 is not a subject
    bad_date = {**girl("马六"), "birth_date": "2014-02-30"}
    rows = [good[0], bad_digit, registered, unknown_field, too_old, good[1], bad_date]

    response = await client.post("/subjects:batch", json={"rows": rows})
    assert response.status_code == 200, response.text
    answer = response.json()
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(rows)))
    assert (answer["created"], answer["refused"]) == (2, 5)
    assert [r["status"] for r in results] == [201, 422, 422, 422, 422, 201, 422]

    # Each refusal is the one the row's own request gets: the same status, code and details.
    for index in (1, 2, 3, 4, 6):
        error = results[index]["error"]
        assert comparable(results[index]["status"], error) == await alone(client, "/subjects", rows[index])
    assert results[1]["error"]["details"][0]["field"] == "body.id_number"
    assert results[2]["error"]["code"] == "subject_duplicate"
    assert results[3]["error"]["details"][0]["field"] == "body.nickname"

    # The good rows are registered as the single route registers them, and readable back.
    positions = [int(results[i]["position"].rsplit(":", 1)[1]) for i in (0, 5)]
    assert response.headers["Carepair-Position"] == f"pairing:{max(positions)}"
    for index, body in ((0, good[0]), (5, good[1])):
        subject_id = results[index]["id"]
        card = await client.get(
            f"/subjects/{subject_id}/card", headers={"Carepair-Await": results[index]["position"]}
        )
        assert card.status_code == 200, card.text
        assert card.json()["subject"]["name"] == body["name"]
    again = await client.post("/subjects", json=good[0])
    assert again.json()["error"]["code"] == "subject_duplicate"


async def test_one_id_number_twice_in_a_batch_registers_one_subject(client: httpx.AsyncClient) -> None:
    first = girl("马甲")
    twin = copy.deepcopy(first)
    twin["name"] = "马乙"
    response = await client.post("/subjects:batch", json={"rows": [first, twin]})
    results = response.json()["results"]
    assert sorted(r["status"] for r in results) == [201, 422]
    [refused] = [r for r in results if r["status"] == 422]
    assert refused["error"]["code"] == "subject_duplicate"


async def test_cadres_come_in_batches_too(client: httpx.AsyncClient) -> None:
    rows = [
        cadre("李一", "female", date(1980, 3, 1)),
        {**cadre("李二", "male", date(1981, 3, 1)), "phone": "1390013900"},  # ten digits
        cadre("李三", "male", date(1982, 3, 1)),
        cadre("李一", "female", date(1980, 3, 1)),  # the first row again: the same person
    ]
    response = await client.post("/cadres:batch", json={"rows": rows})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201, 422]
    assert comparable(results[1]["status"], results[1]["error"]) == await alone(client, "/cadres", rows[1])
    assert results[1]["error"]["details"][0]["field"] == "body.phone"
    assert results[3]["error"]["code"] == "cadre_duplicate"
    assert all(r["id"].startswith("c-") for r in results if r["status"] == 201)


async def test_a_batch_is_bounded_and_needs_rows(client: httpx.AsyncClient) -> None:
    empty = await client.post("/subjects:batch", json={"rows": []})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_input"
    too_many = await client.post("/cadres:batch", json={"rows": [{}] * 501})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "body.rows"
    # A row that is not an object is not a row: the request is refused naming it, nothing is kept.
    not_a_row = await client.post("/subjects:batch", json={"rows": [girl("马七"), "马八"]})
    assert not_a_row.status_code == 422
    assert not_a_row.json()["error"]["details"][0]["field"] == "body.rows.1"
