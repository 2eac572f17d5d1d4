from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from ghgwatch.simulator import FatalError, HttpSender, RetryableError, SimulationStats, run_simulation
from ghgwatch.simulator.delivery import Backoff, Delivery
from tests.simulator.conftest import Ingest

Handler = Callable[[httpx.Request], httpx.Response]


def _hmac(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def accept_all(requests: list[httpx.Request]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        n = len(json.loads(request.content)["readings"])
        return httpx.Response(202, json={"accepted": n, "rejected": []})
    return handle


def _sender(handler: Handler, secret: str | None = None) -> HttpSender:
    return HttpSender("http://sim.test/", "gwd_7_abc", secret=secret, transport=httpx.MockTransport(handler))


READINGS = [{"sensor": 1, "ts": "2026-01-01T00:00:00.000+00:00", "value": 0.52, "unit": "%"},
            {"sensor": 2, "ts": "2026-01-01T00:00:01.000+00:00", "value": 5012.0, "unit": "m3/min"}]


async def test_http_sender_posts_the_ingest_body_with_the_token() -> None:
    seen: list[httpx.Request] = []
    sender = _sender(accept_all(seen))
    result = await sender.send(READINGS)
    await sender.aclose()
    assert result.accepted == 2
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/api/v1/readings"
    assert request.headers["authorization"] == "Bearer gwd_7_abc"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"readings": READINGS}
    assert "x-signature" not in request.headers


async def test_http_sender_signs_timestamp_dot_raw_body() -> None:
    seen: list[httpx.Request] = []
    sender = _sender(accept_all(seen), secret="dev-secret")
    await sender.send(READINGS)
    await sender.aclose()
    headers = seen[0].headers
    assert abs(int(headers["x-timestamp"]) - datetime.now().timestamp()) < 5  # noqa: DTZ005 - Unix time
    assert headers["x-signature"] == _hmac("dev-secret", headers["x-timestamp"], seen[0].content)
    assert headers["x-signature"] != _hmac("other-secret", headers["x-timestamp"], seen[0].content)


@pytest.mark.parametrize(("status", "error"), [(503, RetryableError), (429, RetryableError), (500, RetryableError),
                                               (401, FatalError), (400, FatalError)])
async def test_http_sender_classifies_failures(status: int, error: type[Exception]) -> None:
    sender = _sender(lambda request: httpx.Response(status, headers={"Retry-After": "2"}))
    with pytest.raises(error):
        await sender.send(READINGS)
    await sender.aclose()


async def test_connection_refused_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    sender = _sender(refuse)
    with pytest.raises(RetryableError, match="ConnectError"):
        await sender.send(READINGS)
    await sender.aclose()


async def test_delivery_retries_503_until_accepted_and_counts_rejections() -> None:
    answers = iter([httpx.Response(503), httpx.Response(503),
                    httpx.Response(202, json={"accepted": 1, "rejected": [{"index": 1, "error": "out of range"}]})])
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return next(answers)

    stats = SimulationStats()
    delivery = Delivery(_sender(handle), stats, backoff=Backoff(first_s=0.01, max_s=0.05))
    assert await delivery.deliver(READINGS)
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same batch each time
    assert (stats.retries, stats.requests, stats.sent, stats.accepted, stats.rejected) == (2, 1, 2, 1, 1)
    assert stats.errors[-1] == "rejected #1: out of range"


async def test_full_buffer_drops_the_oldest_and_counts_them() -> None:
    stats = SimulationStats()
    delivery = Delivery(_sender(accept_all([])), stats, batch_size=5, capacity=10)
    delivery.put([{"sensor": 1, "ts": str(i), "value": i} for i in range(15)])
    assert stats.dropped == 5 and len(delivery) == 10
    delivery.close(drain_s=1.0)
    await delivery.run()
    assert stats.sent == 10 and len(delivery) == 0


async def test_run_simulation_batches_at_the_given_rate(credentials: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    stats = await run_simulation(credentials, rate=400, duration_s=0.5, events=(), dropout=0, batch_size=60,
                                 sender=_sender(accept_all(seen)))
    sizes = [len(json.loads(r.content)["readings"]) for r in seen]
    assert stats.generated == stats.sent == stats.accepted == sum(sizes) == 200
    assert max(sizes) <= 60 and len(sizes) >= 4
    readings = [r for req in seen for r in json.loads(req.content)["readings"]]
    ids = [s["id"] for s in credentials["sensors"]]
    assert [r["sensor"] for r in readings[: len(ids)]] == ids  # each sensor in its turn
    times = [datetime.fromisoformat(r["ts"]).timestamp() for r in readings]
    assert times == sorted(times) and times[-1] - times[0] == pytest.approx(199 / 400, abs=0.002)
    assert all(datetime.fromisoformat(r["ts"]).utcoffset() is not None for r in readings)


async def test_backfill_sends_history_in_the_past(credentials: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    before = datetime.now().timestamp()  # noqa: DTZ005 - Unix time
    stats = await run_simulation(credentials, duration_s=0, backfill_hours=2, backfill_step_s=60, dropout=0,
                                 batch_size=500, sender=_sender(accept_all(seen)))
    readings = [r for req in seen for r in json.loads(req.content)["readings"]]
    n = len(credentials["sensors"])
    assert stats.backfilled == stats.accepted == len(readings) == 120 * n
    times = [datetime.fromisoformat(r["ts"]).timestamp() for r in readings]
    assert times == sorted(times)
    assert before - 2 * 3600 - 1 < times[0] and times[-1] < before + 1
    assert len(set(zip((r["sensor"] for r in readings), times, strict=True))) == len(readings)


async def test_stop_event_ends_an_endless_run(credentials: dict[str, Any]) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    stats = await run_simulation(credentials, rate=20, duration_s=None, stop=stop, dropout=0,
                                 sender=_sender(accept_all([])))
    assert 5 <= stats.accepted <= 20


async def test_signed_run_against_a_real_server(credentials: dict[str, Any], ingest_server: str) -> None:
    credentials["api"] = ingest_server
    stats = await run_simulation(credentials, rate=100, duration_s=0.6, sign=True, dropout=0, events=())
    assert stats.retries >= 1 and stats.dropped == 0
    assert stats.generated == stats.accepted == 60
    for headers, body in Ingest.calls:
        assert headers["Authorization"] == f"Bearer {credentials['device_token']}"
        assert headers["X-Signature"] == _hmac(credentials["device_hmac_secret"], headers["X-Timestamp"], body)


async def test_cancelling_the_task_closes_the_sender(credentials: dict[str, Any]) -> None:
    class Recording(HttpSender):
        closed = False

        async def aclose(self) -> None:
            type(self).closed = True
            await super().aclose()

    sender = Recording("http://sim.test", "gwd_7_abc", transport=httpx.MockTransport(accept_all([])))
    task = asyncio.create_task(run_simulation(credentials, rate=20, sender=sender))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert Recording.closed


async def test_stop_during_backfill_ends_quickly(credentials: dict[str, Any]) -> None:
    stop = asyncio.Event()
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        stop.set()  # the first batch arrives, then the run is asked to stop
        return accept_all(seen)(request)

    stats = await run_simulation(credentials, backfill_hours=24, batch_size=100, stop=stop, sender=_sender(handle))
    assert len(seen) == 1 and stats.backfilled == 100 - stats.skipped


async def test_a_retry_never_replays_a_signature() -> None:
    # The server records a signature before it may answer 503; an identical retry would then be a replay (409).
    seen: list[httpx.Request] = []
    answers = iter([503, 503, 202])

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers), json={"accepted": 2, "rejected": []})

    stats = SimulationStats()
    delivery = Delivery(_sender(handle, secret="k"), stats, backoff=Backoff(first_s=0.001, max_s=0.002))
    assert await delivery.deliver(READINGS)
    signatures = [r.headers["x-signature"] for r in seen]
    assert len(set(signatures)) == 3
    for r in seen:
        assert r.headers["x-signature"] == _hmac("k", r.headers["x-timestamp"], r.content)
        assert abs(int(r.headers["x-timestamp"]) - datetime.now().timestamp()) < 5  # noqa: DTZ005 - Unix time
