"""Issue 10, cluster mode: the safety limits are judged where readings are accepted (alerts/accept_lane.py).

Two api replicas and, at first, no pipeline replica at all on the Kafka-protocol broker (tansu) and the test
database: nothing stores or judges the readings after the bus, so an alarm can only come from the accept lane of
api #1. Its ``opened`` event reaches api #1's hub at once and api #2's through ``alerts.v1`` (api #1's relay does
not announce it a second time). Then a pipeline replica starts, stores the same reading and judges it: its engine
adopts the alert (still one row, no second ``opened``) and owns it from there (a clearing reading resolves it).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.alerts.platform.test_cluster_relay import FAST, replica
from tests.conftest import build_world

from ghgwatch.alerts.accept_lane import EXTRA_KEY, AcceptLane
from ghgwatch.alerts.engine import AlertKey
from ghgwatch.alerts.hub import Subscription, hub_of
from ghgwatch.alerts.models import Alert
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.store import Database

pytestmark = [pytest.mark.kafka]


async def _events_until(sub: Subscription, sensor: int, seen: list[dict[str, Any]], kind: str,
                        within_s: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within_s
    while not any(e["event"] == kind for e in seen) and time.monotonic() < deadline:
        event = await sub.get(timeout_s=0.2)
        if event is not None and event["alert"]["sensor_id"] == sensor:
            seen.append(event)
    return seen


async def _rows(db: Database, sensor: int) -> list[Alert]:
    async with db.sessions() as s:
        return list((await s.execute(select(Alert).where(Alert.sensor_id == sensor).order_by(Alert.id))).scalars())


async def test_an_api_replica_opens_the_alarm_at_accept_time_and_the_pipeline_engine_adopts_it(
        tmp_path: Path, db_url: str, db: Database) -> None:
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        bus_url = f"{broker.url}?partitions=3&replication=1&{FAST}"
        async with AsyncExitStack() as stack:
            api1, client1 = await stack.enter_async_context(replica("api", tmp_path / "a1", db_url, bus_url))
            api2, _ = await stack.enter_async_context(replica("api", tmp_path / "a2", db_url, bus_url))
            lane: AcceptLane = api1.state.ctx.extras[EXTRA_KEY]
            world = await build_world(client1, db)
            async with db.transaction() as s:
                token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
            engineer = await world.login(Role.ENGINEER, world.org_a)
            answer = await client1.post("/api/v1/sensors", headers=engineer, json={
                "source_id": world.source_a, "name": "CH4 longwall outgoing", "kind": "methane", "unit": "%",
                "location": "longwall_outgoing", "expected_interval_s": 10})
            assert answer.status_code == 201, answer.text
            sensor = answer.json()["id"]
            answer = await client1.post("/api/v1/alert-rules", headers=engineer, json={
                "scope": "sensor", "selector": str(sensor), "rule_id": "methane_limit",
                "definition": {"kind": "threshold", "alarm": 1.0, "clear_after_s": 0, "source": "test"}})
            assert answer.status_code == 201, answer.text
            device = {"Authorization": f"Bearer {token}"}
            at = datetime.now(UTC)
            seen1: list[dict[str, Any]] = []
            seen2: list[dict[str, Any]] = []
            async with hub_of(api1.state.ctx.extras).subscribe(world.org_a) as sub1, \
                    hub_of(api2.state.ctx.extras).subscribe(world.org_a) as sub2:
                # The sensor is new to api #1's lane: it learns it from this very reading (no refresh awaited).
                answer = await client1.post("/api/v1/readings", headers=device, json={"readings": [
                    {"sensor": sensor, "ts": at.isoformat(), "value": 2.5}]})
                assert answer.status_code == 202, answer.text
                await _events_until(sub1, sensor, seen1, "opened")
                assert [e["event"] for e in seen1] == ["opened"], "no pipeline runs: only the accept lane can alarm"
                opened = seen1[0]["alert"]
                assert (opened["severity"], opened["reading_value"], opened["rule_id"]) == ("alarm", 2.5,
                                                                                          "methane_limit")
                assert lane.opened == 1
                await _events_until(sub2, sensor, seen2, "opened")
                assert [e["alert"]["id"] for e in seen2] == [opened["id"]]  # api #2 hears it through alerts.v1
                assert [(r.id, r.state) for r in await _rows(db, sensor)] == [(opened["id"], "open")]

                # A second exceeding reading while it is open: the lane opens nothing more.
                answer = await client1.post("/api/v1/readings", headers=device, json={"readings": [
                    {"sensor": sensor, "ts": (at + timedelta(seconds=1)).isoformat(), "value": 2.7}]})
                assert answer.status_code == 202, answer.text

                # Now a pipeline replica stores both readings and judges them: it adopts the open alert.
                # (with api #2's keys: the last replica started holds the process's secret cipher, under which
                # the device token was stored)
                (tmp_path / "p").mkdir()
                for name in ("secrets.key", "jwt.secret", "audit.key"):
                    if (tmp_path / "a2" / name).exists():
                        shutil.copy(tmp_path / "a2" / name, tmp_path / "p" / name)
                pipe, _ = await stack.enter_async_context(replica("pipeline", tmp_path / "p", db_url, bus_url))
                alerts = pipe.state.ctx.extras["alerts"]
                key = AlertKey(str(sensor), "methane_limit")
                deadline = time.monotonic() + 60
                while alerts.ids.get(key) != opened["id"] and time.monotonic() < deadline:  # noqa: ASYNC110 (a condition, not an event)
                    await asyncio.sleep(0.1)
                assert alerts.ids.get(key) == opened["id"], "the engine did not take the alert over"
                answer = await client1.post("/api/v1/readings", headers=device, json={"readings": [
                    {"sensor": sensor, "ts": (at + timedelta(seconds=2)).isoformat(), "value": 0.2}]})
                assert answer.status_code == 202, answer.text
                await _events_until(sub1, sensor, seen1, "auto_resolved")
            # One alert, announced opened once on each replica, then resolved by the engine.
            assert [e["event"] for e in seen1 if e["event"] != "updated"] == ["opened", "auto_resolved"]
            assert all(e["alert"]["id"] == opened["id"] for e in seen1)
            rows = await _rows(db, sensor)
            assert [(r.id, r.state) for r in rows] == [(opened["id"], "resolved")]
            assert rows[0].peak_value == 2.7  # the engine followed the peak of the alert it adopted
            assert lane.opened == 1
