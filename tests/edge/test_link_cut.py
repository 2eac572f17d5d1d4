"""An edge gateway and a central platform as real processes: readings stream into the gateway over HTTP, CoAP
and MQTT, the link is cut (the platform is killed) mid-stream, local alarms still fire, the link comes back, and
every reading (mode ``all``) or every minute summary and alarm (mode ``summary``) arrives once and in order.

The gateway is also killed and restarted while the link is down (it starts from its cached configuration).
Mode ``all`` runs the platform on SQLite, mode ``summary`` on PostgreSQL (the platform-side storage of both is
also tested on both databases in-process, in test_platform_side.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.ingest.test_crash import cluster_db  # noqa: F401 (fixture)
from tests.support.coap import coap_client
from tests.support.net import free_port, free_udp_port

pytestmark = pytest.mark.slow
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
MINUTES = 10
PER_MINUTE = 12  # one reading every 5 s
VIEW = "view-token-for-the-test"


@dataclass
class Site:
    org: int
    sensors: list[int]
    device_id: int
    device_token: str
    gateway_token: str
    gateway_secret: str


def _provision(db_url: str, data_dir: Path) -> Site:
    """The platform's registry: one mine, three methane sensors (alarm 1.0 %), a device and a gateway; secrets
    at rest under the key the platform will use (its data folder)."""
    from ghgwatch.registry import service as registry
    from ghgwatch.registry.schemas import FacilityIn, OrganizationIn, SensorIn, SourceIn
    from ghgwatch.registry.specs import FACILITIES, ORGANIZATIONS, SENSORS, SOURCES
    from ghgwatch.security import service
    from ghgwatch.security.crypto import cipher_from_settings, install_cipher
    from ghgwatch.security.principal import SYSTEM
    from ghgwatch.settings import build_settings
    from ghgwatch.store import open_database
    from ghgwatch.store.migrate import upgrade

    upgrade(db_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    install_cipher(cipher_from_settings(build_settings(data_dir=data_dir, db={"url": db_url})))

    async def go() -> Site:
        db = open_database(db_url)
        try:
            async with db.transaction() as s:
                org: Any = await registry.create(s, SYSTEM, ORGANIZATIONS, OrganizationIn(name="Edge Mine Co"))
                fac: Any = await registry.create(s, SYSTEM, FACILITIES, FacilityIn(
                    organization_id=org.id, name="Mine", type="underground_mine"))  # type: ignore[arg-type]
                src: Any = await registry.create(s, SYSTEM, SOURCES, SourceIn(
                    facility_id=fac.id, name="Shaft", type="ventilation_shaft"))  # type: ignore[arg-type]
                sensors = []
                for i in range(3):
                    sensor: Any = await registry.create(s, SYSTEM, SENSORS, SensorIn(
                        source_id=src.id, name=f"CH4 {i}", kind="methane", unit="%",  # type: ignore[arg-type]
                        range_min=0, range_max=100, warning_level=0.8, alarm_level=1.0))
                    sensors.append(sensor.id)
                device = await service.create_device(s, SYSTEM, organization_id=org.id, name="meter")
                gateway = await service.create_device(s, SYSTEM, organization_id=org.id, name="edge",
                                                      require_signature=True, gateway=True)
            return Site(org.id, sensors, device.device.id, device.token, gateway.token, gateway.device.hmac_secret)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _minute(site: Site, k: int) -> list[dict[str, Any]]:
    """Minute ``k``: every sensor every 5 s; sensor 0 exceeds its alarm level early in minute 6."""
    rows = []
    for j in range(PER_MINUTE):
        ts = T0 + timedelta(minutes=k, seconds=5 * j)
        for n, sensor in enumerate(site.sensors):
            value = 1.5 if (n == 0 and k == 6 and 1 <= j <= 3) else round(0.3 + 0.01 * ((k + j) % 5) + 0.1 * n, 6)
            rows.append({"sensor": sensor, "ts": ts.isoformat(), "value": value})
    return rows


class Proc:
    def __init__(self, cmd: list[str], env: dict[str, str], health: str, log: Path) -> None:
        self.cmd, self.env, self.health, self.log = cmd, env, health, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240  # a loaded CI machine takes long to start a process
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.cmd[3]} exited: {self.log.read_text()[-3000:]}"
            try:
                if httpx.get(self.health, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.cmd[3]} did not become healthy")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def _wait(what: str, check: Callable[[], Any], within: float = 90.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.split("///", 1)[1]) as conn:
            return list(conn.execute(sql).fetchall())
    with psycopg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://", 1)) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]  # type: ignore[arg-type]


@dataclass
class Rig:
    site: Site
    db_url: str
    central: Proc
    edge: Proc
    edge_url: str
    coap_port: int
    mqtt_port: int
    central_data: Path

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.edge_url}/api/v1/edge/status",
                                           headers={"Authorization": f"Bearer {VIEW}"}, timeout=5).json()
        return answer

    def alarms(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = httpx.get(f"{self.edge_url}/api/v1/edge/alarms", params={"limit": 1000},
                                                headers={"Authorization": f"Bearer {VIEW}"}, timeout=5).json()["items"]
        return items

    def post_http(self, rows: list[dict[str, Any]]) -> None:
        answer = httpx.post(f"{self.edge_url}/api/v1/readings", json={"readings": rows}, timeout=30,
                            headers={"Authorization": f"Bearer {self.site.device_token}"})
        assert answer.status_code == 202 and answer.json()["accepted"] == len(rows), answer.text

    def post_coap(self, rows: list[dict[str, Any]]) -> None:
        async def go() -> None:
            async with coap_client("127.0.0.1", self.coap_port) as client:
                answer = await client.post_readings(rows, self.site.device_token)
                assert answer.body == {"accepted": len(rows), "rejected": []}, answer.body

        asyncio.run(go())

    def post_mqtt(self, rows: list[dict[str, Any]]) -> None:
        import aiomqtt

        async def go() -> None:
            async with aiomqtt.Client("127.0.0.1", self.mqtt_port, username=str(self.site.device_id),
                                      password=self.site.device_token, identifier="meter-mqtt") as client:
                await client.publish(f"ghgwatch/{self.site.org}/{self.site.device_id}/readings",
                                     json.dumps({"readings": rows}), qos=1)

        asyncio.run(go())


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    mode = request.param
    if mode == "all":
        db_url = f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    else:
        db_url = request.getfixturevalue("cluster_db").replace("postgresql://", "postgresql+asyncpg://", 1)
    central_data = tmp_path / "central"
    site = _provision(db_url, central_data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")}
    port, edge_port, coap_port, mqtt_port = free_port(), free_port(), free_udp_port(), free_port()
    central = Proc([sys.executable, "-m", "ghgwatch", "up", "--port", str(port), "--data-dir", str(central_data)],
                   {**env, "GHGWATCH_DB__URL": db_url, "GHGWATCH_COAP__PORT": str(free_udp_port()),
                    "GHGWATCH_MQTT__EMBEDDED_PORT": str(free_port())},
                   f"http://127.0.0.1:{port}/healthz", tmp_path / "central.log")
    edge = Proc([sys.executable, "-m", "ghgwatch", "edge", "--upstream", f"http://127.0.0.1:{port}", "--forward", mode,
                 "--port", str(edge_port), "--coap-port", str(coap_port), "--mqtt-port", str(mqtt_port),
                 "--data-dir", str(tmp_path / "edge")],
                {**env, "GHGWATCH_EDGE__TOKEN": site.gateway_token, "GHGWATCH_EDGE__HMAC_SECRET": site.gateway_secret,
                 "GHGWATCH_EDGE__VIEW_TOKEN": VIEW, "GHGWATCH_EDGE__SUMMARY_GRACE_S": "1",
                 "GHGWATCH_EDGE__RETRY_MAX_S": "1", "GHGWATCH_EDGE__CONFIG_REFRESH_S": "5"},
                f"http://127.0.0.1:{edge_port}/healthz", tmp_path / "edge.log")
    try:
        central.start()
        edge.start()
        yield Rig(site, db_url, central, edge, f"http://127.0.0.1:{edge_port}", coap_port, mqtt_port, central_data)
    finally:
        edge.stop()
        central.stop()


class AlarmStream(threading.Thread):
    """Listens to the gateway's server-sent alarm events until an alarm opens."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.connected = threading.Event()
        self.events: list[dict[str, Any]] = []

    def run(self) -> None:
        with httpx.stream("GET", self.url, params={"access_token": VIEW}, timeout=httpx.Timeout(5, read=120)) as r:
            for line in r.iter_lines():
                self.connected.set()
                if line.startswith("data: "):
                    self.events.append(json.loads(line[6:]))
                    if self.events[-1]["event"] == "opened":
                        return


def _stream_with_a_cut(rig: Rig) -> None:
    site = rig.site
    _wait("the gateway's configuration", lambda: rig.status()["config"]["sensors"] == 3)
    for k in range(4):  # link up
        rig.post_http(_minute(site, k))
    _wait("the first minutes forwarded", lambda: rig.status()["backlog"] == 0 and rig.status()["link"]["up"])
    rig.central.kill()  # the link is cut mid-stream
    rig.post_http(_minute(site, 4))
    rig.post_coap(_minute(site, 5))
    stream = AlarmStream(f"{rig.edge_url}/api/v1/edge/alarms/stream")
    stream.start()
    assert stream.connected.wait(30)
    rig.post_http(_minute(site, 6))  # sensor 0 exceeds its alarm level
    rig.post_mqtt(_minute(site, 7))
    rig.post_http(_minute(site, 8))
    # The site keeps its alarms without the platform: opened, and resolved once clear for 60 s.
    def mine() -> list[dict[str, Any]]:
        return [a for a in reversed(rig.alarms()) if a["sensor"] == site.sensors[0]]  # oldest first

    alarms = _wait("the local alarm, opened and resolved", lambda: got if len(got := mine()) >= 2 else None)
    assert [a["kind"] for a in alarms] == ["opened", "resolved"], alarms
    stream.join(30)
    assert [(e["event"], e["alert"]["sensor"]) for e in stream.events] == [("opened", site.sensors[0])]
    opened = next(a for a in alarms if a["kind"] == "opened")
    assert (opened["severity"], opened["reading_value"], opened["threshold"]) == ("alarm", 1.5, 1.0)
    assert _wait("all readings evaluated", lambda: rig.status()["evaluated"] >= 9 * PER_MINUTE * 3)
    status = rig.status()
    assert status["link"]["up"] is False and status["backlog"] > 0
    # The gateway itself dies and comes back while the link is still down: it starts from its cached
    # configuration, and its alarm log carries over (nothing raised twice).
    rig.edge.kill()
    rig.edge.start()
    assert rig.status()["config"]["source"] == "cache"
    assert [a["kind"] for a in mine()] == ["opened", "resolved"]
    rig.central.start()  # the link is back
    rig.post_http(_minute(site, 9))
    _wait("the backlog forwarded", lambda: rig.status()["backlog"] == 0, within=120)


def _expected(site: Site) -> list[dict[str, Any]]:
    return [r for k in range(MINUTES) for r in _minute(site, k)]


def _us(iso: str) -> int:
    dt = datetime.fromisoformat(iso)
    return int((dt - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


@pytest.mark.parametrize("rig", ["all"], indirect=True)
def test_all_readings_arrive_once_and_in_order_after_a_cut(rig: Rig) -> None:
    _stream_with_a_cut(rig)
    sent = {(r["sensor"], _us(r["ts"])): r["value"] for r in _expected(rig.site)}
    stored = _wait("every reading at the platform", lambda: (
        rows if len(rows := _query(rig.db_url, "SELECT sensor_id, ts, value FROM readings")) >= len(sent) else None))
    assert {(s, t): v for s, t, v in stored} == sent  # every reading, with its value, and nothing else
    assert len(stored) == len(sent)  # once
    # The platform raised its own alert from the forwarded readings (the same rule as the site's).
    alerts = _wait("the platform's alert", lambda: _query(
        rig.db_url, f"SELECT rule_id, state FROM alerts WHERE sensor_id = {rig.site.sensors[0]}") or None)
    assert [a[0] for a in alerts] == ["threshold"]
    rig.central.stop()
    arrivals = asyncio.run(_arrival_order(rig.central_data))
    for sensor in rig.site.sensors:
        first_seen = list(dict.fromkeys(arrivals[sensor]))  # a batch re-sent after a lost answer repeats itself
        assert first_seen == sorted(first_seen) and len(first_seen) == MINUTES * PER_MINUTE


async def _arrival_order(data: Path) -> dict[int, list[int]]:
    """The platform's bus, read back from the start: per sensor, the timestamps in the order they arrived."""
    from ghgwatch.bus import open_bus, topics
    from ghgwatch.ingest.wire import decode

    bus = open_bus("embedded:", data_dir=data)
    await bus.start()
    out: dict[int, list[int]] = {}
    try:
        consumer = bus.consumer("test-audit", [topics.READINGS_RAW])
        await consumer.start()
        while messages := await consumer.poll(10_000, timeout_s=0.5):
            for m in messages:
                batch = decode(m.value)
                out.setdefault(batch.sensor, []).extend(batch.ts)
        await consumer.stop()
    finally:
        await bus.stop()
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("rig", ["summary"], indirect=True)
def test_summaries_and_alarms_arrive_once_after_a_cut(rig: Rig) -> None:
    _stream_with_a_cut(rig)
    expected: dict[tuple[int, int], list[float]] = {}
    for r in _expected(rig.site):
        minute = _us(r["ts"]) // 60_000_000 * 60_000_000
        expected.setdefault((r["sensor"], minute), []).append(r["value"])
    rows = _wait("every minute at the platform", lambda: (
        got if len(got := _query(rig.db_url, "SELECT sensor_id, bucket, count, sum, min, max, last FROM rollup_1m"))
        >= len(expected) else None), within=120)
    assert len(rows) == len(expected)
    for sensor, bucket, count, total, low, high, last in rows:
        values = expected[(sensor, bucket)]
        assert (count, low, high, last) == (len(values), min(values), max(values), values[-1])
        assert total == pytest.approx(sum(values))
    assert _query(rig.db_url, "SELECT count(*) FROM readings") == [(0,)]  # summaries only, as configured
    alerts = _wait("the site's alarm at the platform", lambda: (
        got if (got := _query(rig.db_url, "SELECT id, sensor_id, rule_id, severity, state, threshold FROM alerts"))
        and got[0][4] == "resolved" else None))
    assert [a[1:] for a in alerts] == [(rig.site.sensors[0], "threshold", "alarm", "resolved", 1.0)]
    history = _query(rig.db_url, f"SELECT action, actor FROM alert_history WHERE alert_id = {alerts[0][0]} ORDER BY id")
    assert [h[0] for h in history] == ["opened", "auto_resolved"]  # once each, in order
    assert all(h[1].startswith("edge-gateway:") for h in history)
    events = _query(rig.db_url, "SELECT event_id FROM edge_events")
    assert len(events) == len({e[0] for e in events}) == 2
