"""The demo county: ID numbers the pairing service accepts, and the people the README's tour shows."""

from datetime import date

from carepair.demo.county import county
from services.pairing.domain.identity import check_resident_id
from shared.contracts.people import Gender


def test_every_demo_id_number_agrees_with_the_birth_date_and_gender() -> None:
    for body in county().subjects:
        born, gender = date.fromisoformat(body["birth_date"]), Gender(body["gender"])
        checked = check_resident_id(body["id_number"], birth_date=born, gender=gender)
        assert checked.number == body["id_number"]


def test_the_county_is_the_one_the_readme_tours() -> None:
    demo = county()
    assert (demo.code, demo.name) == ("622925", "和政县")
    assert len(demo.subjects) == 12 and len(demo.cadres) == 10
    units = {c["unit_id"] for c in demo.cadres}
    assert units == {"u-civil", "u-county", "u-disabled", "u-education", "u-health"}
    assert "622925102" in demo.townships  # 三十里铺镇, where the tour asks for suggestions
    household = {s["name"]: s["id_number"] for s in demo.subjects if s["household_id"] == "h-demo-ma"}
    assert set(household) == {"马小军", "马奶奶"}
    assert household["马小军"] == "622925201209030054"
    civil = {c["name"]: c["phone"] for c in demo.cadres if c["unit_name"] == "和政县民政局"}
    assert civil["刘芳"] == "13893000000"
    assert all(s["residence"]["township_code"] in demo.townships for s in demo.subjects)
