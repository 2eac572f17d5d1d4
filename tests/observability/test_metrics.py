from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from prometheus_client import REGISTRY

from ghgwatch.observability import metrics as m


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_all_metric_names_are_prefixed_and_unique() -> None:
    names = [
        obj._name  # type: ignore[attr-defined]
        for obj in vars(m).values()
        if type(obj).__module__ == "prometheus_client.metrics"
    ]
    assert len(names) >= 20
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"ghgwatch_[a-z0-9_]+", n) for n in names), names


def test_no_metric_uses_a_label_reserved_by_prometheus_targets() -> None:
    for obj in vars(m).values():
        if type(obj).__module__ == "prometheus_client.metrics":
            labels = set(obj._labelnames)  # type: ignore[attr-defined]
            assert not labels & {"job", "instance", "le", "quantile"}, obj


def test_rejected_reason_and_transport_are_bounded_by_enums() -> None:
    before = sample("ghgwatch_ingest_readings_rejected_total", transport="other", reason="other")
    m.observe_rejected("made-up reason from a sender", "carrier pigeon", 3)
    after = sample("ghgwatch_ingest_readings_rejected_total", transport="other", reason="other")
    assert after - before == 3
    assert (
        REGISTRY.get_sample_value(
            "ghgwatch_ingest_readings_rejected_total",
            {"transport": "carrier pigeon", "reason": "made-up reason from a sender"},
        )
        is None
    )


def test_known_reason_is_kept() -> None:
    before = sample("ghgwatch_ingest_readings_rejected_total", transport="http", reason="signature")
    m.observe_rejected(m.RejectReason.SIGNATURE, m.Transport.HTTP)
    assert sample("ghgwatch_ingest_readings_rejected_total", transport="http", reason="signature") == before + 1


def test_init_metrics_creates_every_enum_series_at_zero() -> None:
    m.init_metrics(role="api", mode="cluster", max_sensor_series=5)
    for transport in m.Transport:
        assert (
            REGISTRY.get_sample_value("ghgwatch_ingest_readings_accepted_total", {"transport": transport.value})
            is not None
        )
        for reason in m.RejectReason:
            labels = {"transport": transport.value, "reason": reason.value}
            assert REGISTRY.get_sample_value("ghgwatch_ingest_readings_rejected_total", labels) is not None
    assert (
        REGISTRY.get_sample_value("ghgwatch_notifications_total", {"channel": "email", "outcome": "failure"})
        is not None
    )
    assert REGISTRY.get_sample_value("ghgwatch_store_write_duration_seconds_count", {"table": "readings"}) is not None
    assert sample("ghgwatch_build_info", version=m._version(), role="api", mode="cluster") == 1
    assert sample("ghgwatch_sensor_series_limit") == 5


def test_accept_to_stored_buckets_span_1ms_to_10s() -> None:
    assert m.ACCEPT_TO_STORED_BUCKETS[0] == 0.001
    assert m.ACCEPT_TO_STORED_BUCKETS[-1] == 10.0
    assert list(m.ACCEPT_TO_STORED_BUCKETS) == sorted(m.ACCEPT_TO_STORED_BUCKETS)
    before = sample("ghgwatch_pipeline_accept_to_stored_seconds_bucket", le="0.005")
    count = sample("ghgwatch_pipeline_accept_to_stored_seconds_count")
    m.observe_accept_to_stored([0.004, 0.2, -1.0])  # a clock skew becomes 0, not a negative value
    assert sample("ghgwatch_pipeline_accept_to_stored_seconds_bucket", le="0.005") == before + 2
    assert sample("ghgwatch_pipeline_accept_to_stored_seconds_count") == count + 3


def test_timed_observes_even_when_the_block_raises() -> None:
    count = sample("ghgwatch_store_write_duration_seconds_count", table="rollup_1h")
    with pytest.raises(RuntimeError), m.timed(m.observe_store_write, "rollup_1h"):
        raise RuntimeError("boom")
    assert sample("ghgwatch_store_write_duration_seconds_count", table="rollup_1h") == count + 1


def test_consumer_lag_is_never_negative() -> None:
    m.set_consumer_lag("pipeline", "readings.raw.v1", -5)
    assert sample("ghgwatch_bus_consumer_lag", group="pipeline", topic="readings.raw.v1") == 0
    m.set_consumer_lag("pipeline", "readings.raw.v1", 42)
    assert sample("ghgwatch_bus_consumer_lag", group="pipeline", topic="readings.raw.v1") == 42


def test_alert_and_notification_helpers() -> None:
    before = sample("ghgwatch_alerts_opened_total", severity="critical", condition="threshold")
    m.alert_opened("critical", "threshold")
    assert sample("ghgwatch_alerts_opened_total", severity="critical", condition="threshold") == before + 1
    before = sample("ghgwatch_notifications_total", channel="webhook", outcome="failure")
    m.observe_notification("webhook", "failure")
    assert sample("ghgwatch_notifications_total", channel="webhook", outcome="failure") == before + 1


def test_metrics_app_serves_text_format() -> None:
    m.observe_accepted("mqtt", 2)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=m.metrics_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/")

    response = asyncio.run(get())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'ghgwatch_ingest_readings_accepted_total{transport="mqtt"}' in response.text
