"""A small demo county (和政县, 622925), loaded once over HTTP like any client.

Three townships, twelve cared-for people (orphans, severely disabled people, 特困 households,
one household of two) and ten cadres of five units. The pairing service suggests the
pairings and the demo accepts them; each pairing then gets a few months of contacts and
visits through the gateway. The people are invented; the division codes of the villages are
made up under the county's real code, and the ID numbers carry valid check digits.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.clock import Clock
from shared.resident_id import resident_id

COUNTY = "622925"
TOWNSHIPS = {"622925100": "城关镇", "622925101": "三合镇", "622925102": "三十里铺镇"}
MODES = ["phone", "wechat", "home", "sms", "phone", "home"]
DEMO_NAMESPACE = uuid.UUID("5b0c6a57-8f7e-4c52-9d77-0d6f3b1c2a10")


def _place(township: str, village: int) -> dict[str, str]:
    return {"county_code": COUNTY, "township_code": township, "village_code": f"{township}{village:03d}"}


def _id_number(born: date, female: bool, serial: int) -> str:
    return resident_id(COUNTY, born, serial * 2 + (0 if female else 1))


def _subjects() -> list[dict[str, Any]]:
    people = [
        ("马小花", "female", date(2014, 5, 17), "orphan", "622925100", 201, None),
        ("马小军", "male", date(2012, 9, 3), "orphan", "622925100", 201, "h-demo-ma"),
        ("马奶奶", "female", date(1948, 1, 20), "extreme_poverty", "622925100", 201, "h-demo-ma"),
        ("王梅", "female", date(2016, 2, 11), "orphan", "622925101", 202, None),
        ("张磊", "male", date(2011, 7, 30), "de_facto_orphan", "622925101", 203, None),
        ("李秀兰", "female", date(2015, 12, 1), "orphan", "622925102", 204, None),
        ("赵德明", "male", date(1972, 4, 8), "severely_disabled", "622925100", 202, None),
        ("马玉芳", "female", date(1980, 10, 15), "severely_disabled", "622925101", 202, None),
        ("周建国", "male", date(1965, 6, 6), "severely_disabled", "622925102", 204, None),
        ("韩老汉", "male", date(1950, 3, 3), "extreme_poverty", "622925101", 203, None),
        ("白桂英", "female", date(1946, 8, 19), "extreme_poverty", "622925102", 205, None),
        ("马海", "male", date(2013, 1, 25), "orphan", "622925102", 205, None),
    ]
    bodies = []
    for serial, (name, gender, born, kind, township, village, household) in enumerate(people, start=1):
        body: dict[str, Any] = {
            "name": name,
            "gender": gender,
            "ethnicity": "回族" if name.startswith("马") else "汉族",
            "birth_date": born.isoformat(),
            "id_number": _id_number(born, gender == "female", serial),
            "residence": _place(township, village),
            "household_id": household,
            "residence_address": {
                "province": "甘肃省",
                "prefecture": "临夏回族自治州",
                "county": "和政县",
                "township": TOWNSHIPS[township],
                "village": f"示范{village}村",
            },
        }
        if kind in ("orphan", "de_facto_orphan"):
            body.update(
                category="orphan",
                care_setting="scattered",
                orphan_type="de_facto_orphan" if kind == "de_facto_orphan" else "orphan",
                parents_situation=["imprisoned"] if kind == "de_facto_orphan" else [],
                school_stage="primary",
                guardian={"name": "马大姐", "gender": "female", "relation": "姑姑", "phone": "13993000001"},
            )
        elif kind == "severely_disabled":
            body.update(
                category="severely_disabled",
                care_setting="scattered",
                disability_types=["physical"],
                disability_level=1,
                disability_certificate=f"{COUNTY}{born:%Y%m%d}4{serial % 10}",
                dibao={"area": "rural", "grade": 1},
                self_care="partial",
            )
        else:
            body.update(
                category="extreme_poverty",
                tekun={"area": "rural", "setting": "scattered"},
                self_care="partial",
            )
        bodies.append(body)
    return bodies


def _cadres() -> list[dict[str, Any]]:
    def cadre(
        name: str,
        gender: str,
        born: date,
        unit: str,
        unit_name: str,
        post: str,
        tier: str,
        title: str,
        kind: str,
        villages: list[str],
        party: bool = True,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "gender": gender,
            "birth_date": born.isoformat(),
            "phone": "13893000000",
            "unit_id": unit,
            "unit_name": unit_name,
            "post": post,
            "rank": {"tier": tier, "title": title},
            "party_member": party,
            "kind": kind,
            "links": {"village_codes": villages},
        }

    chengguan = ["622925100201", "622925100202"]
    sanhe = ["622925101202", "622925101203"]
    shilipu = ["622925102204", "622925102205"]
    return [
        cadre(
            "杨县长",
            "male",
            date(1970, 2, 2),
            "u-county",
            "和政县人民政府",
            "副县长",
            "county",
            "deputy",
            "county_leader",
            chengguan + sanhe + shilipu,
        ),
        cadre(
            "刘芳",
            "female",
            date(1979, 4, 4),
            "u-civil",
            "和政县民政局",
            "局长",
            "township",
            "principal",
            "unit_leader",
            chengguan + sanhe,
        ),
        cadre(
            "陈静",
            "female",
            date(1984, 5, 5),
            "u-civil",
            "和政县民政局",
            "副局长",
            "township",
            "deputy",
            "unit_leader",
            chengguan + sanhe,
        ),
        cadre(
            "马志强",
            "male",
            date(1975, 6, 6),
            "u-civil",
            "和政县民政局",
            "办公室主任",
            "township",
            "clerk_chief_2",
            "unit_leader",
            chengguan + sanhe,
        ),
        cadre(
            "孙丽",
            "female",
            date(1988, 7, 7),
            "u-disabled",
            "和政县残联",
            "理事长",
            "township",
            "principal",
            "unit_leader",
            sanhe + shilipu,
        ),
        cadre(
            "何军",
            "male",
            date(1969, 8, 8),
            "u-disabled",
            "和政县残联",
            "副理事长",
            "township",
            "deputy",
            "unit_leader",
            sanhe + shilipu,
        ),
        cadre(
            "吴敏",
            "female",
            date(1990, 9, 9),
            "u-education",
            "和政县教科局",
            "科员",
            "below_section",
            "clerk_1",
            "unit_cadre",
            shilipu + chengguan,
        ),
        cadre(
            "郑伟",
            "male",
            date(1978, 10, 10),
            "u-education",
            "和政县教科局",
            "副局长",
            "township",
            "deputy",
            "unit_leader",
            shilipu + chengguan,
        ),
        cadre(
            "冯雪",
            "female",
            date(1986, 11, 11),
            "u-health",
            "和政县卫健局",
            "科员",
            "below_section",
            "clerk_2",
            "unit_cadre",
            shilipu,
        ),
        cadre(
            "马国庆",
            "male",
            date(1966, 12, 12),
            "u-health",
            "和政县卫健局",
            "局长",
            "township",
            "principal",
            "unit_leader",
            sanhe + shilipu,
        ),
    ]


def _checked(response: httpx.Response, *ok: int) -> httpx.Response:
    if response.status_code not in ok:
        raise RuntimeError(
            f"demo load failed: {response.request.url} {response.status_code} {response.text[:300]}"
        )
    return response


def load_demo(data_dir: Path, gateway: str, pairing: str, token: str, clock: Clock) -> None:
    """Loads the demo county once; a marker file stops a second load."""
    marker = data_dir / "demo-loaded"
    if marker.exists():
        print("demo: already loaded")
        return
    headers = {"Authorization": f"Bearer {token}", "Carepair-Actor": "operator:demo"}
    with httpx.Client(base_url=pairing, timeout=30, headers=headers) as service:
        for body in _subjects():
            _checked(service.post("/subjects", json=body), 201, 422)
        last = ""
        for body in _cadres():
            last = _checked(service.post("/cadres", json=body), 201, 422).headers.get(
                "Carepair-Position", last
            )
        results: list[dict[str, Any]] = []
        for township in TOWNSHIPS:
            # One township at a time, each plan made after the previous one was accepted: a cadre
            # linked with villages of two townships must not be offered twice.
            plan = _checked(
                service.post(
                    "/suggestions",
                    json={"township_code": township},
                    headers={"Carepair-Await": last} if last else {},
                ),
                200,
            ).json()
            if not plan["placed"]:
                continue
            accepted = _checked(
                service.post(
                    "/suggestions/accept",
                    json={
                        "pairs": [
                            {"subject_id": p["subject_id"], "cadre_id": p["cadre_id"]} for p in plan["placed"]
                        ]
                    },
                ),
                200,
            )
            last = accepted.headers.get("Carepair-Position", last)
            results += accepted.json()["results"]
        pairings = []
        for result in results:
            if result["accepted"]:
                history = _checked(service.get(f"/subjects/{result['subject_id']}/responsible"), 200).json()
                current = history["history"][-1]
                pairings.append((current["pairing_id"], result["subject_id"], result["cadre_id"]))
    visits = _log_visits(gateway, pairings, clock.today())
    marker.write_text("ok\n", encoding="utf-8")
    print(
        f"demo: 和政县 with {len(_subjects())} cared-for people, {len(_cadres())} cadres, "
        f"{len(pairings)} pairings and {visits} contacts and visits"
    )


def _log_visits(gateway: str, pairings: list[tuple[str, str, str]], today: date) -> int:
    count = 0
    with httpx.Client(base_url=gateway, timeout=10) as client:
        for index, (pairing_id, subject_id, cadre_id) in enumerate(pairings):
            for n, mode in enumerate(MODES[: 2 + index % 5]):
                visit_id = uuid.uuid5(DEMO_NAMESPACE, f"{pairing_id}-{n}")
                _checked(
                    client.post(
                        "/api/visits",
                        json={
                            "visit_id": str(visit_id),
                            "pairing_id": pairing_id,
                            "subject_id": subject_id,
                            "cadre_id": cadre_id,
                            "mode": mode,
                            "happened_on": (today - timedelta(days=9 * (n + 1))).isoformat(),
                            "record": "入户走访，查看居住环境，了解生活情况。"
                            if mode == "home"
                            else "电话询问近况，了解生活和学习情况。",
                        },
                    ),
                    201,
                    409,
                )
                count += 1
    return count
