"""The gateway's app in-process, with its link down: it refuses devices until it has a configuration, starts
from a cached one, takes readings, raises the site's alarm, and keeps everything for later."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app as cli
from ghgwatch.edge.gateway.api import build_edge_app
from ghgwatch.edge.gateway.state import EdgeState
from ghgwatch.settings import build_settings
from tests.edge.test_gateway_parts import _config
from tests.support.net import free_port

VIEW = {"Authorization": "Bearer view"}


def _settings(data: Path) -> Any:
    return build_settings(data_dir=data, api={"host": "127.0.0.1"}, coap={"port": 0},
                          mqtt={"embedded_port": free_port()},
                          edge={"upstream": f"http://127.0.0.1:{free_port()}", "token": "gwd_12_x",
                                "hmac_secret": "y", "view_token": "view", "retry_max_s": 0.5})


async def _client_for(data: Path) -> tuple[Any, httpx.AsyncClient]:
    app = build_edge_app(_settings(data))
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


async def test_unconfigured_gateway_refuses_devices_clearly(tmp_path: Path) -> None:
    app, client = await _client_for(tmp_path)
    async with app.router.lifespan_context(app), client:
        answer = await client.post("/api/v1/readings", json={"readings": []}, headers={"Authorization": "Bearer a"})
        assert answer.status_code == 503 and "not reached the platform" in answer.json()["detail"]
        assert (await client.get("/api/v1/edge/status")).status_code == 401
        assert (await client.get("/api/v1/edge/status", headers={"Authorization": "Bearer nope"})).status_code == 401
        status = (await client.get("/api/v1/edge/status", headers=VIEW)).json()
        assert status["config"]["source"] == "none" and status["link"]["up"] is not True
        assert (await client.get("/healthz")).json()["configured"] is False


async def test_offline_gateway_keeps_alarms_and_readings(tmp_path: Path) -> None:
    EdgeState.open(tmp_path).update(_config(alarm=1.0))  # what an earlier run fetched
    app, client = await _client_for(tmp_path)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    rows = [{"sensor": 7, "ts": (t0 + timedelta(seconds=5 * i)).isoformat(), "value": 1.4 if i == 3 else 0.4}
            for i in range(10)]
    async with app.router.lifespan_context(app), client:
        assert (await client.get("/api/v1/edge/status", headers=VIEW)).json()["config"]["source"] == "cache"
        answer = await client.post("/api/v1/readings", json={"readings": [*rows, {**rows[0], "sensor": 99}]},
                                   headers={"Authorization": "Bearer gwd_11_s3cret"})
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"accepted": 10, "rejected": [{"index": 10, "error": "unknown sensor 99"}]}
        refused = await client.post("/api/v1/readings", json={"readings": rows},
                                    headers={"Authorization": "Bearer gwd_11_wrong"})
        assert refused.status_code == 401
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = (await client.get("/api/v1/edge/alarms", headers=VIEW, params={"open": "true"})).json()["items"]
            if items:
                break
            await asyncio.sleep(0.1)
        [alarm] = items
        assert (alarm["kind"], alarm["sensor"], alarm["severity"]) == ("opened", 7, "alarm")
        assert alarm["reading_value"] == 1.4
        status = (await client.get("/api/v1/edge/status", headers=VIEW)).json()
        assert status["link"]["up"] is False and status["backlog"] >= 1 and status["alarms_open"] == 1


def test_edge_command_needs_its_upstream_and_credentials(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["edge", "--data-dir", str(tmp_path)], env={"GHGWATCH_EDGE__UPSTREAM": ""})
    assert result.exit_code == 2
    assert "--upstream" in result.output


async def _mqtt_publish(port: int, username: str, token: str, topic: str, value: float) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, username=username, password=token) as device:
        reading = {"sensor": 7, "ts": datetime.now(UTC).replace(microsecond=0).isoformat(), "value": value}
        await device.publish(topic, json.dumps({"readings": [reading]}), qos=1)


async def test_gateway_broker_takes_the_platforms_mqtt_account_and_the_bare_device_id(tmp_path: Path) -> None:
    """Device 11 of organisation 3 (the cached configuration): ``3/11`` (the platform's ``mqtt_username``) and
    the bare ``11`` both publish to ``ghgwatch/3/11/readings``; a username or a topic naming another
    organisation gets nothing into the gateway's log. Each reading carries its own value, so the log shows
    which messages came through (refused ones are acknowledged first, so they would come first)."""
    import aiomqtt

    from ghgwatch.bus import topics
    from ghgwatch.ingest.wire import decode

    EdgeState.open(tmp_path).update(_config(alarm=100.0))
    app, client = await _client_for(tmp_path)
    async with app.router.lifespan_context(app), client:
        await asyncio.wait_for(app.state.ctx.extras["mqtt_bridge"].connected.wait(), 15)
        status = (await client.get("/api/v1/edge/status", headers=VIEW)).json()
        port = int(status["endpoints"]["mqtt"].rsplit(":", 1)[1])
        own, token = "ghgwatch/3/11/readings", "gwd_11_s3cret"
        with pytest.raises(aiomqtt.MqttError):  # another organisation's username: refused at login
            await _mqtt_publish(port, "4/11", token, "ghgwatch/4/11/readings", 0.1)
        with pytest.raises(aiomqtt.MqttError):  # the right account with a wrong token
            await _mqtt_publish(port, "3/11", "gwd_11_wrong", own, 0.2)
        await _mqtt_publish(port, "3/11", token, "ghgwatch/4/11/readings", 0.3)  # another organisation's topic
        await _mqtt_publish(port, "11", token, "ghgwatch/4/11/readings", 0.4)
        await _mqtt_publish(port, "3/11", token, "ghgwatch/3/12/readings", 0.5)  # another device's topic
        await _mqtt_publish(port, "3/11", token, own, 1.0)
        await _mqtt_publish(port, "11", token, own, 2.0)

        consumer = app.state.edge.bus.consumer("test-reader", [topics.READINGS_RAW])
        await consumer.start()
        try:
            seen: list[tuple[int, int, str, float]] = []
            deadline = time.monotonic() + 20
            while len(seen) < 2 and time.monotonic() < deadline:  # one sensor: one partition, in order
                for message in await consumer.poll(100, timeout_s=0.5):
                    batch = decode(message.value)
                    seen += [(batch.organization, batch.device, batch.transport, v) for v in batch.values]
        finally:
            await consumer.stop()
        assert seen == [(3, 11, "mqtt", 1.0), (3, 11, "mqtt", 2.0)]
