"""Migration pa0003 fills the rule registries from the records a database already holds, and back."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from shared.database import ensure_database, sync_url
from shared.eventstore import EVENTSTORE_MIGRATIONS
from tests.support.pairing_world import PAIRING_MIGRATIONS

MIGRATIONS_ENV = Path(__file__).parents[3] / "shared" / "migrations"


def _config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_ENV))
    locations = " ".join(str(p.resolve()) for p in (EVENTSTORE_MIGRATIONS, PAIRING_MIGRATIONS))
    config.set_main_option("version_locations", locations)
    config.set_main_option("path_separator", "space")
    config.attributes["url"] = sync_url(url)
    return config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, sqlite_url: URL) -> URL:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else sqlite_url


def test_cadres_and_households_recorded_before_the_registries_are_carried_over(url: URL) -> None:
    ensure_database(url)
    config = _config(url)
    command.upgrade(config, "pa0002")
    engine = sa.create_engine(sync_url(url))
    links = '{"township_codes": [], "village_codes": ["622925100201"], "resident_township_code": null}'
    with engine.begin() as conn:
        for cadre_id, gender, status in (("c-1", "female", "active"), ("c-2", "male", "retired")):
            conn.execute(
                sa.text(
                    "INSERT INTO cadre_index (cadre_id, unit_id, kind, gender, tier, title, party_member, "
                    "status, links) VALUES (:id, 'u-1', 'unit_leader', :gender, 'township', 'principal', "
                    "true, :status, :links)"
                ),
                {"id": cadre_id, "gender": gender, "status": status, "links": links},
            )
            conn.execute(
                sa.text("INSERT INTO cadre_availability (cadre_id, available) VALUES (:id, :available)"),
                {"id": cadre_id, "available": status == "active"},
            )
        for subject_id, status in (("s-1", "active"), ("s-2", "active"), ("s-3", "exited")):
            conn.execute(
                sa.text(
                    "INSERT INTO subject_index (subject_id, household_id, category, gender, county_code, "
                    "township_code, village_code, outside_province, status) VALUES (:id, 'h-1', 'orphan', "
                    "'female', '622925', '622925100', '622925100201', false, :status)"
                ),
                {"id": subject_id, "status": status},
            )

    command.upgrade(config, "heads")
    with engine.connect() as conn:
        cadres = conn.execute(
            sa.text("SELECT cadre_id, gender, available, unit_id FROM cadre_registry ORDER BY cadre_id")
        ).all()
        members = conn.execute(
            sa.text("SELECT subject_id, household_id FROM household_members ORDER BY subject_id")
        ).all()
    assert [tuple(c) for c in cadres] == [("c-1", "female", True, "u-1"), ("c-2", "male", False, "u-1")]
    assert [tuple(m) for m in members] == [("s-1", "h-1"), ("s-2", "h-1")]  # the exited one is not

    command.downgrade(config, "pa0002")
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT cadre_id, available FROM cadre_availability ORDER BY cadre_id"))
        assert [tuple(k) for k in kept] == [("c-1", True), ("c-2", False)]
        assert not sa.inspect(conn).has_table("cadre_registry")
    engine.dispose()
