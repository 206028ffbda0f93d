"""The work standard: at least 4 contacts and 2 on-site visits per pairing per year."""

from services.reporting.domain.compliance import YearTally


def test_four_contacts_and_two_visits_meet_the_standard() -> None:
    tally = YearTally()
    for on_site in [False, False, False, True, False, True]:
        tally = tally.record(on_site)
    assert (tally.contacts, tally.visits) == (4, 2)
    assert tally.meets_standard


def test_visits_do_not_count_as_contacts() -> None:
    tally = YearTally(contacts=3, visits=5)
    assert not tally.meets_standard
    assert (tally.contacts_missing, tally.visits_missing) == (1, 0)


def test_an_empty_year_misses_everything() -> None:
    assert (YearTally().contacts_missing, YearTally().visits_missing) == (4, 2)
