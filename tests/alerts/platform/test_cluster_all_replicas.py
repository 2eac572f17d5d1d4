"""Issue 10, cluster mode with two replicas of role ``all`` (ingest, pipeline and rule engine in each process) on the
Kafka-protocol broker (tansu) and the test database.

Each replica's pipeline receives the partitions of ``readings.raw.v1`` the consumer group gives it, and its engine
judges those sensors. A reading posted to the replica that does not own its sensor's partition must not be judged
by that replica's engine (the live lane): it would hold state for a sensor whose later readings it never sees (an
open alert it cannot resolve, a last reading time that turns into a phantom silent alert once the partition comes
to it). It goes to the replica's accept lane instead, which opens the alarm at once under the database's guard and
keeps no engine state; the owner's engine adopts the alert once the reading is stored, and resolves it. SSE clients
of either replica hear the alert opened and resolved, once each: on a shared bus every replica of role ``all`` relays
the other replicas' events from ``alerts.v1`` (alerts/relay.py) and skips its own.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from tests.alerts.platform.test_cluster_relay import FAST, SECRET
from tests.conftest import build_world

from ghgwatch.alerts.engine import AlertKey
from ghgwatch.alerts.hub import Subscription, hub_of
from ghgwatch.alerts.models import Alert
from ghgwatch.alerts.service import AlertService
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database

pytestmark = [pytest.mark.kafka]
LEFT_OUT = {"mqtt", "coap", "analytics", "lifecycle"}  # not under test; two of each in one process would clash


@asynccontextmanager
async def replica(data_dir: Path, db_url: str, bus_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from ghgwatch.roles import SERVICES, build_role_app

    settings = build_settings(data_dir=data_dir, db={"url": db_url}, bus={"url": bus_url},
                              security={"jwt_secret": SECRET})
    app = build_role_app(settings, "all", services=tuple(s for s in SERVICES if s.name not in LEFT_OUT))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield app, client


async def _until(check: Any, within_s: float = 60.0) -> bool:
    deadline = time.monotonic() + within_s
    while not check() and time.monotonic() < deadline:  # noqa: ASYNC110 (a condition, not an event)
        await asyncio.sleep(0.05)
    return bool(check())


async def _events(sub: Subscription, sensor: int, seen: list[dict[str, Any]], kind: str,
                  within_s: float = 60.0) -> dict[str, Any] | None:
    """Collect ``sub``'s events of ``sensor`` into ``seen`` until one of ``kind``; returns that one."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = [e for e in seen if e["event"] == kind]
        if found:
            return found[0]
        event = await sub.get(timeout_s=0.2)
        if event is not None and event["alert"]["sensor_id"] == sensor:
            seen.append(event)
    return None


async def test_a_replica_judges_only_its_own_partitions_and_opens_the_others_alarms_under_the_database_guard(
        tmp_path: Path, db_url: str, db: Database) -> None:
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        bus_url = f"{broker.url}?partitions=3&replication=1&{FAST}"
        async with AsyncExitStack() as stack:
            apps = [await stack.enter_async_context(replica(tmp_path / name, db_url, bus_url)) for name in "ab"]
            services: list[AlertService] = [app.state.ctx.extras["alerts"] for app, _ in apps]
            split = await _until(lambda: all(s.handover.partitions for s in services)
                                 and sum(len(s.handover.partitions or ()) for s in services) == 3
                                 and frozenset.union(*(s.handover.partitions or frozenset() for s in services))
                                 == {0, 1, 2})
            assert split, [s.handover.partitions for s in services]

            client = apps[0][1]
            world = await build_world(client, db)
            async with db.transaction() as s:
                token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
            engineer = await world.login(Role.ENGINEER, world.org_a)
            answer = await client.post("/api/v1/sensors", headers=engineer, json={
                "source_id": world.source_a, "name": "CH4 longwall outgoing", "kind": "methane", "unit": "%",
                "location": "longwall_outgoing", "expected_interval_s": 60})
            assert answer.status_code == 201, answer.text
            sensor = answer.json()["id"]
            answer = await client.post("/api/v1/alert-rules", headers=engineer, json={
                "scope": "sensor", "selector": str(sensor), "rule_id": "methane_limit",
                "definition": {"kind": "threshold", "alarm": 1.0, "clear_after_s": 0, "source": "test"}})
            assert answer.status_code == 201, answer.text
            owner = next(i for i, s in enumerate(services) if s.handover.owns(str(sensor)))
            other = 1 - owner
            (owner_app, _), (other_app, other_client) = apps[owner], apps[other]
            mine, theirs = services[owner], services[other]
            key = AlertKey(str(sensor), "methane_limit")
            device = {"Authorization": f"Bearer {token}"}
            at = datetime.now(UTC)

            there: list[dict[str, Any]] = []  # events on the hub (SSE) of the replica posted to
            here: list[dict[str, Any]] = []  # and of the owner
            async with hub_of(other_app.state.ctx.extras).subscribe(world.org_a) as sub_there, \
                    hub_of(owner_app.state.ctx.extras).subscribe(world.org_a) as sub_here:
                # Posted to the replica that does not own the sensor's partition.
                answer = await other_client.post("/api/v1/readings", headers=device, json={"readings": [
                    {"sensor": sensor, "ts": at.isoformat(), "value": 2.5}]})
                assert answer.status_code == 202, answer.text
                opened = await _events(sub_there, sensor, there, "opened")
                assert opened is not None, "the replica that accepted the exceedance raised no alarm"
                alert_id = opened["alert"]["id"]
                # The owner's SSE clients hear it too, relayed from alerts.v1, before it is resolved (a relayed event
                # of an alert its hub has already announced resolved is dropped: alerts/hub.py).
                assert await _events(sub_here, sensor, here, "opened") is not None, "the owner's hub missed it"
                # The owner's engine adopts the row once its pipeline has stored the reading.
                assert await _until(lambda: mine.ids.get(key) == alert_id), "the owner's engine did not adopt it"
                # A clearing reading, posted to the same replica: the owner's engine resolves the alert.
                answer = await other_client.post("/api/v1/readings", headers=device, json={"readings": [
                    {"sensor": sensor, "ts": (at + timedelta(seconds=1)).isoformat(), "value": 0.2}]})
                assert answer.status_code == 202, answer.text
                assert await _events(sub_here, sensor, here, "auto_resolved") is not None, "not resolved by the owner"
                # SSE clients of either replica hear both: each replica relays the other's events from alerts.v1.
                await _events(sub_there, sensor, there, "auto_resolved")
            for name, seen in (("posted to", there), ("owner", here)):
                kinds = [e["event"] for e in seen if e["event"] != "updated"]
                assert kinds == ["opened", "auto_resolved"], f"{name}: {kinds}"
                assert {e["alert"]["id"] for e in seen} == {alert_id}

            # The replica that does not own the sensor never judged it in its engine: no state, no alert held.
            assert math.isnan(theirs.engine.last_ts(str(sensor))), "judged by the engine of a replica not owning it"
            assert key not in {oa.key for oa in theirs.engine.open_alerts()} and key not in theirs.ids
            assert mine.engine.last_ts(str(sensor)) == pytest.approx((at + timedelta(seconds=1)).timestamp())
            async with db.sessions() as s:
                rows = (await s.execute(select(Alert.id, Alert.state).where(Alert.sensor_id == sensor))).all()
            assert [tuple(r) for r in rows] == [(alert_id, "resolved")]  # one alert, opened once
            lane = getattr(theirs, "accept_lane", None)  # a shared bus: an accept lane for the others' sensors
            assert lane is not None and lane.opened == 1, "not opened by the accept lane"
