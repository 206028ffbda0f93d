"""The pairing service's own tables: registries kept with each append, and query read models.

Registries (`*_fingerprints`, `cadre_holdings`, `active_pairings`, `cadre_registry`,
`household_members`) are written in the same transaction as the events that change them, so
they always hold exactly what was committed: commands decide on them, never on a read model,
and the rules they guard hold under concurrent requests (see `services/pairing/domain/basis.py`).
The `*_index` tables, `pairing_history`, `rule_overrides`, `reviews` and `scheduled_changes`
are read models fed from the service's own events: for queries, and for the daily job to find
the changes due (it then decides each from the stream). No table holds personal data: names, ID numbers
and the like stay sealed in the events (ID numbers appear only as keyed hashes).
"""

from typing import Any

import sqlalchemy as sa

from shared.contracts.pairing import CadreRegistered

metadata = sa.MetaData()

subject_fingerprints = sa.Table(
    "subject_fingerprints",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(64), nullable=False, unique=True),
)

cadre_fingerprints = sa.Table(
    "cadre_fingerprints",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("cadre_id", sa.String(64), nullable=False, unique=True),
)

cadre_holdings = sa.Table(
    "cadre_holdings",
    metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("subjects", sa.Integer, nullable=False),
)

# Each cadre's facts that rules spanning several records read (kind, gender, rank, links,
# whether they can take a pairing), written with the cadre's own events. A pairing locks the
# cadre's row for the check, so a retirement that commits first refuses the pairing, and one
# that commits after finds it and ends it.
cadre_registry = sa.Table(
    "cadre_registry",
    metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("gender", sa.String(8), nullable=False),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("title", sa.String(32), nullable=False),
    sa.Column("party_member", sa.Boolean, nullable=False),
    sa.Column("links", sa.JSON, nullable=False),
    sa.Column("available", sa.Boolean, nullable=False),
)

# Every subject still cared for (registered, not exited), by household: the household rules
# count its members from here, written with the subject's own events.
household_members = sa.Table(
    "household_members",
    metadata,
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
)

active_pairings = sa.Table(
    "active_pairings",
    metadata,
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("pairing_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("cadre_id", sa.String(64), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("started_on", sa.Date, nullable=False),
)

subject_index = sa.Table(
    "subject_index",
    metadata,
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("gender", sa.String(8), nullable=False),
    sa.Column("county_code", sa.String(12), nullable=False),
    sa.Column("township_code", sa.String(12), nullable=False, index=True),
    sa.Column("village_code", sa.String(12), nullable=False),
    sa.Column("outside_province", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("waiting_since", sa.Date, nullable=True),
    sa.Column("waiting_unit", sa.String(64), nullable=True),
)

cadre_index = sa.Table(
    "cadre_index",
    metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("gender", sa.String(8), nullable=False),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("title", sa.String(32), nullable=False),
    sa.Column("party_member", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("links", sa.JSON, nullable=False),
)

pairing_history = sa.Table(
    "pairing_history",
    metadata,
    sa.Column("pairing_id", sa.Uuid, primary_key=True),
    sa.Column("subject_id", sa.String(64), nullable=False, index=True),
    sa.Column("cadre_id", sa.String(64), nullable=False, index=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("started_on", sa.Date, nullable=False),
    sa.Column("ended_on", sa.Date, nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
    # A unit's list in date order from the index alone (migration pa0005; SQLite keys them all).
    sa.Index(
        "ix_pairing_history_unit_started",
        "unit_id",
        "started_on",
        postgresql_include=["pairing_id", "subject_id", "cadre_id", "ended_on", "end_reason"],
    ),
)

rule_overrides = sa.Table(
    "rule_overrides",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("pairing_id", sa.Uuid, nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("cadre_id", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("operator", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("review_id", sa.Uuid, primary_key=True),
    sa.Column("pairing_id", sa.Uuid, nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False, index=True),
    sa.Column("cadre_id", sa.String(64), nullable=False),
    sa.Column("cause", sa.String(64), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decision", sa.String(16), nullable=True),
)

# A read model of the changes dated ahead that have not happened yet, one per stream (a later
# one replaces it): the daily round finds here which are due; the streams decide if one stands.
scheduled_changes = sa.Table(
    "scheduled_changes",
    metadata,
    sa.Column("stream", sa.String(16), primary_key=True),  # "cadre" or "subject"
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("effective_on", sa.Date, nullable=False, index=True),
)


def cadre_columns(cadre: CadreRegistered) -> dict[str, Any]:
    """The columns of a newly registered cadre that `cadre_registry` and `cadre_index` share."""
    return {
        "cadre_id": cadre.cadre_id,
        "unit_id": cadre.unit_id,
        "kind": cadre.kind.value,
        "gender": cadre.gender.value,
        "tier": cadre.rank.tier.value,
        "title": cadre.rank.title.value,
        "party_member": cadre.party_member,
        "links": cadre.links.model_dump(mode="json"),
    }
