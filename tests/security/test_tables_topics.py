"""Every table and every bus topic has a stated way of belonging to an organisation, checked against the schema.

The route walk (``test_scoping.py``) shows behaviour: another organisation's user gets nothing through the API.
This walk shows structure: a new table or topic without a scoping decision here fails, and a decision that no longer
matches the schema (a column renamed, a parent table that lost its organisation) fails too.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import Table

from ghgwatch.alerts.hub import AlertHub
from ghgwatch.bus import topics
from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.readings.models import DeadLetter
from ghgwatch.readings.writer import DeadLetterRow
from ghgwatch.store import models  # noqa: F401  (fills the metadata)
from ghgwatch.store.base import Base

VIA_PARENT: dict[str, tuple[str, str]] = {
    # table: (column, parent table holding organization_id). These tables carry no organisation of their own
    # (readings and rollups are the largest tables: an extra column costs every insert); every query reaches them
    # through their parent (readings through the sensor, checked in the readings and history routes).
    "readings": ("sensor_id", "sensors"),
    "rollup_1m": ("sensor_id", "sensors"),
    "rollup_1h": ("sensor_id", "sensors"),
    "rollup_1d": ("sensor_id", "sensors"),
    "sensor_latest": ("sensor_id", "sensors"),
    "drift_reports": ("model_id", "models"),
    "alert_history": ("alert_id", "alerts"),
    "mine_methane": ("facility_id", "facilities"),
}

NULL_ORGANISATION_MEANS: dict[str, str] = {
    # tables whose organization_id may be NULL, and what such a row is (who may read it)
    "analytics_jobs": "a platform job (platform administrators only)",
    "audit_log": "a platform-level event such as a failed login for an unknown user (platform administrators only)",
    "deadletter": "a record no organisation can be trusted with: malformed, or naming another organisation's sensor",
    "models": "a model trained by the platform (platform administrators only)",
    "forecasts": "a forecast of a platform model (platform administrators only)",
    "factor_sets": "public factors shipped with the product (IPCC 2006, Order 371), readable by everyone",
    "ref_mines": "public reference data (GEM, platform-curated), readable by every signed-in user",
    "ref_mine_years": "public reference data (GEM, platform-curated), readable by every signed-in user",
    "ref_seams": "public reference data (platform-curated), readable by every signed-in user",
    "users": "a platform administrator, who belongs to no organisation",
}

PLATFORM_TABLES: dict[str, str] = {
    "organizations": "the organisations themselves (a user reads only their own)",
    "audit_head": "the audit chain's head: one row for the platform, hashes only",
    "seen_signatures": "the replay memory of device signatures: digests and expiry times only, no data",
    "rate_limits": "sign-in and ingest rate-limit counters shared by the API replicas: keyed by client address, "
                   "case-folded username or device id, never read by or shown to any organisation (no route)",
}


def _tables() -> dict[str, Table]:
    return dict(Base.metadata.tables)


def test_every_table_has_a_scoping_decision() -> None:
    decided = set(VIA_PARENT) | set(PLATFORM_TABLES)
    tables = _tables()
    undecided = [name for name, table in tables.items()
                 if "organization_id" not in table.c and name not in decided]
    assert not undecided, f"tables without organization_id and without a scoping decision here: {undecided}"
    stale = sorted((set(VIA_PARENT) | set(PLATFORM_TABLES) | set(NULL_ORGANISATION_MEANS)) - set(tables))
    assert not stale, f"decisions for tables that no longer exist: {stale}"


def test_decisions_match_the_schema() -> None:
    tables = _tables()
    for name, (column, parent) in VIA_PARENT.items():
        assert column in tables[name].c, f"{name}.{column} does not exist"
        assert "organization_id" not in tables[name].c, f"{name} has its own organisation now: move it out"
        assert "organization_id" in tables[parent].c, f"{name}'s parent {parent} has no organization_id"
        assert not tables[parent].c.organization_id.nullable or parent in NULL_ORGANISATION_MEANS
    for name in PLATFORM_TABLES:
        assert "organization_id" not in tables[name].c, f"{name} has an organisation now: scope it"


def test_a_nullable_organisation_is_explained() -> None:
    unexplained = [name for name, table in _tables().items()
                   if "organization_id" in table.c and table.c.organization_id.nullable
                   and name not in NULL_ORGANISATION_MEANS]
    assert not unexplained, f"organization_id may be NULL without a stated meaning: {unexplained}"
    wrongly = [name for name in NULL_ORGANISATION_MEANS if not _tables()[name].c.organization_id.nullable]
    assert not wrongly, f"organization_id is NOT NULL now; remove the decision: {wrongly}"


TOPIC_ORGANISATION: dict[str, str] = {
    topics.READINGS_RAW: "SensorBatch.organization, checked against the sensor by ingest and again by the pipeline "
                         "(tests/ingest/test_http_ingest.py, a forged record is never stored)",
    topics.READINGS_DEADLETTER: "DeadLetterRow.organization_id, stored in deadletter.organization_id",
    topics.ALERTS: "event['alert']['organization_id'], filtered per subscriber by alerts.hub",
}


def test_every_topic_has_a_scoping_decision_and_its_records_carry_the_organisation() -> None:
    assert set(topics.ALL_TOPICS) == set(TOPIC_ORGANISATION)
    assert "organization" in SensorBatch.__struct_fields__
    assert "organization_id" in DeadLetter.__table__.c
    assert "organization_id" in {f.name for f in dataclasses.fields(DeadLetterRow)}


async def test_alert_events_reach_only_their_organisations_subscribers() -> None:
    hub = AlertHub()
    async with hub.subscribe(1) as a, hub.subscribe(2) as b, hub.subscribe(None) as platform:
        hub.publish({"type": "opened", "alert": {"id": 7, "organization_id": 1}})
        assert (await a.get(1.0)) is not None
        assert (await platform.get(1.0)) is not None
        assert (await b.get(0.2)) is None
