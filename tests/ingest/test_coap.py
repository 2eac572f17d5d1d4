"""CoAP ingest end to end with a real aiocoap client over UDP on loopback, on both databases."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiocoap import Code

from ghgwatch.security import service
from ghgwatch.security.principal import SYSTEM
from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform
from tests.ingest.test_http_ingest import T0, readings
from tests.support.coap import CoapClient, coap_client
from tests.support.net import free_udp_port


@pytest.fixture
async def coap_platform(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[tuple[Platform, CoapClient]]:
    del db  # the db fixture truncates PostgreSQL afterwards
    async for p in _platform(tmp_path, db_url, "embedded:", coap_port=free_udp_port()):
        server = p.extras["coap_server"]
        async with coap_client("127.0.0.1", server.port) as client:
            yield p, client


async def test_readings_acknowledged_after_durable_and_stored_once(
        coap_platform: tuple[Platform, CoapClient]) -> None:
    p, coap = coap_platform
    rows = readings(p.world.sensor_a, 5)
    answer = await coap.post_readings(rows, p.token)
    assert answer.code == Code.CHANGED
    assert answer.body == {"accepted": 5, "rejected": []}
    retry = await coap.post_readings(rows, p.token)  # a device that lost the answer sends again
    assert retry.code == Code.CHANGED
    assert await p.wait_stored(5) == 5
    assert await p.stored() == 5


async def test_large_body_goes_blockwise(coap_platform: tuple[Platform, CoapClient]) -> None:
    p, coap = coap_platform
    rows = readings(p.world.sensor_a, 4000, step_s=1.0)
    rows.append({"sensor": 999_999, "ts": rows[0]["ts"], "value": 0.5})
    assert len(json.dumps({"readings": rows})) > 65_507  # larger than any UDP datagram: only Block1 can carry it
    answer = await coap.post_readings(rows, p.token)
    assert answer.code == Code.CHANGED
    assert answer.body["accepted"] == 4000
    assert answer.body["rejected"] == [{"index": 4000, "error": "unknown sensor 999999"}]
    assert await p.wait_stored(4000, within=30) == 4000


async def test_per_reading_rejections_and_organisation_scope(coap_platform: tuple[Platform, CoapClient]) -> None:
    p, coap = coap_platform
    good = readings(p.world.sensor_a, 2)
    other_org_sensor = p.world.sensor_a + 1  # build_world makes org B's sensor right after org A's
    rows = [good[0], {"sensor": p.world.sensor_a, "ts": "2025-01-01T00:00:00", "value": 1.0},
            {"sensor": other_org_sensor, "ts": good[1]["ts"], "value": 0.5}, good[1]]
    answer = await coap.post_readings(rows, p.token)
    assert answer.code == Code.CHANGED
    assert answer.body["accepted"] == 2
    assert [r["index"] for r in answer.body["rejected"]] == [1, 2]
    assert answer.body["rejected"][1]["error"] == f"unknown sensor {other_org_sensor}"
    assert await p.wait_stored(2) == 2
    assert await p.stored(other_org_sensor) == 0


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing stored is checked


@SQLITE_ONLY
async def test_bad_requests_get_clear_4xx(coap_platform: tuple[Platform, CoapClient]) -> None:
    p, coap = coap_platform
    body = json.dumps({"readings": readings(p.world.sensor_a, 1)}).encode()
    cases = [
        (await coap.request(body), Code.UNAUTHORIZED, "token"),
        (await coap.request(body, token="gwd_1_wrong"), Code.UNAUTHORIZED, "unknown or revoked"),
        (await coap.request(b"{not json", token=p.token), Code.BAD_REQUEST, "Malformed JSON"),
        (await coap.request(b'{"rows": []}', token=p.token), Code.UNPROCESSABLE_ENTITY, "readings"),
        (await coap.request(body, token=p.token, content_format=60), Code.UNSUPPORTED_CONTENT_FORMAT, "50"),
        (await coap.request(body, token=p.token, code=Code.GET), Code.METHOD_NOT_ALLOWED, None),
        (await coap.request(body, token=p.token, path="nowhere"), Code.NOT_FOUND, None),
    ]
    oversized = b'{"readings": [' + b" " * (9 * 1024 * 1024) + b"]}"
    started = time.monotonic()
    cases.append((await coap.request(oversized, token=p.token), Code.REQUEST_ENTITY_TOO_LARGE, "bytes"))
    assert time.monotonic() - started < 20  # refused at the first block (Size1), not after 9 MB of blocks
    for answer, code, words in cases:
        assert answer.code == code, (answer.code, answer.body)
        if words is not None:
            assert answer.body["status"] in range(400, 500)
            assert words in answer.body.get("detail", "") + answer.body["title"], answer.body
    # The server is still there and accepts good input.
    assert (await coap.post_readings(readings(p.world.sensor_a, 1), p.token)).code == Code.CHANGED


@SQLITE_ONLY
async def test_signatures_good_bad_stale_replayed_required(coap_platform: tuple[Platform, CoapClient]) -> None:
    p, coap = coap_platform
    rows = readings(p.world.sensor_a, 2)
    stamp = time.time()
    good = await coap.post_readings(rows, p.token, secret=p.hmac_secret, ts=stamp)
    assert good.code == Code.CHANGED and good.body["accepted"] == 2
    replay = await coap.post_readings(rows, p.token, secret=p.hmac_secret, ts=stamp)
    assert replay.code == Code.CONFLICT and replay.body["type"].endswith("replayed-signature")
    wrong = await coap.post_readings(rows, p.token, secret="not-the-secret")
    assert wrong.code == Code.UNAUTHORIZED and wrong.body["type"].endswith("bad-signature")
    stale = await coap.post_readings(rows, p.token, secret=p.hmac_secret, ts=time.time() - 301)
    assert stale.code == Code.UNAUTHORIZED and stale.body["type"].endswith("stale-signature")
    async with p.db.transaction() as s:
        strict = await service.create_device(s, SYSTEM, organization_id=p.world.org_a, name="strict",
                                             require_signature=True)
    unsigned = await coap.post_readings(rows, strict.token)
    assert unsigned.code == Code.UNAUTHORIZED and unsigned.body["type"].endswith("signature-required")
    signed = await coap.post_readings(rows, strict.token, secret=strict.device.hmac_secret)
    assert signed.code == Code.CHANGED


async def test_storage_behind_answers_5_03_with_max_age(tmp_path: Path, db_url: str, db: Database) -> None:
    """Admission control over CoAP as over HTTP: while storage is behind, 5.03 Service Unavailable with Max-Age (the
    Retry-After of CoAP) and nothing acknowledged; before the fix CoAP accepted whatever the backlog."""
    del db
    async for p in _platform(tmp_path, db_url, "embedded:", coap_port=free_udp_port(),
                             admission={"max_backlog": 5, "retry_after_s": 3}):
        await p.extras["pipeline"].stop()  # storage stops keeping up
        async with coap_client("127.0.0.1", p.extras["coap_server"].port) as coap:
            answers = [await coap.post_readings(readings(p.world.sensor_a, 1, start=T0 + timedelta(seconds=i)), p.token)
                       for i in range(12)]
        codes = [a.code for a in answers]
        accepted = codes.count(Code.CHANGED)
        assert 6 <= accepted <= 8 and codes == [Code.CHANGED] * accepted + [Code.SERVICE_UNAVAILABLE] * (12 - accepted)
        refused = answers[-1]
        assert refused.max_age == 3 and refused.body["title"] == "Storage is behind"
        assert "readings are waiting to be stored" in refused.body["detail"]
