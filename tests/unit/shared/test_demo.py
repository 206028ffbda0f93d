"""The demo county's people carry ID numbers that the pairing service accepts."""

from datetime import date

from services.pairing.domain.identity import check_resident_id
from shared.contracts.people import Gender
from shared.launcher.demo import _subjects


def test_every_demo_id_number_agrees_with_the_birth_date_and_gender() -> None:
    for body in _subjects():
        born, gender = date.fromisoformat(body["birth_date"]), Gender(body["gender"])
        checked = check_resident_id(body["id_number"], birth_date=born, gender=gender)
        assert checked.number == body["id_number"]
