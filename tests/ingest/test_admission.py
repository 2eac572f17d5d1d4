"""Admission control: while the pipeline does not store, ingest answers 503 with Retry-After once the backlog
passes its limit, acknowledges nothing more, and accepts again when storage has caught up."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ghgwatch.ingest.admission import Admission
from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.problems import Problem
from ghgwatch.pipeline.runner import Pipeline
from ghgwatch.settings import AdmissionSettings
from ghgwatch.store import Database
from tests.ingest.conftest import _platform


def test_admission_refuses_over_the_limit_and_says_when_to_retry() -> None:
    class Bus:
        depth = 10

        def backlog(self, group: str, topic: str) -> int:
            return self.depth

    bus = Bus()
    admission = Admission(bus, AdmissionSettings(max_backlog=10, retry_after_s=3), check_interval_s=0)
    admission.check("http")
    bus.depth = 11
    with pytest.raises(Problem) as refused:
        admission.check("http")
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "3"}
    assert Admission(object(), AdmissionSettings()).backlog() is None  # a bus without a backlog probe


def test_a_burst_between_two_probes_counts_against_the_limit() -> None:
    class Bus:
        def backlog(self, group: str, topic: str) -> int:
            return 2

    admission = Admission(Bus(), AdmissionSettings(max_backlog=5, retry_after_s=1), check_interval_s=3600)
    for _ in range(4):  # probed once (2 waiting), then 2 + 0, 2 + 1, 2 + 2, 2 + 3 <= 5
        admission.check("http")
    with pytest.raises(Problem):
        admission.check("http")  # 2 + 4 > 5 although the bus was not probed again


async def test_ingest_slows_senders_while_storage_is_behind(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    async for p in _platform(tmp_path, db_url, "embedded:", admission={"max_backlog": 5, "retry_after_s": 2}):
        await p.extras["pipeline"].stop()  # storage stops keeping up

        def one(i: int, sensor: int = p.world.sensor_a) -> dict[str, list[dict[str, object]]]:
            return {"readings": [{"sensor": sensor, "ts": (t0 + timedelta(seconds=i)).isoformat(), "value": 0.5}]}

        statuses = []
        for i in range(12):
            answer = await p.client.post("/api/v1/readings", json=one(i), headers=p.auth)
            statuses.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.headers["retry-after"] == "2"
                assert "behind" in answer.json()["title"]
        accepted = statuses.count(202)
        # The backlog stops near its limit (re-read every 50 ms; requests admitted in between count as waiting).
        assert 6 <= accepted <= 8 and statuses == [202] * accepted + [503] * (12 - accepted)
        pipeline = Pipeline(p.extras["bus"], p.db, p.extras["sensors"])
        pipeline.start()  # storage catches up ...
        try:
            assert await p.wait_stored(accepted, within=30) == accepted
            deadline = time.monotonic() + 10
            while (answer := await p.client.post("/api/v1/readings", json=one(100), headers=p.auth)).status_code \
                    == 503 and time.monotonic() < deadline:
                pass
            assert answer.status_code == 202  # ... and senders are admitted again
        finally:
            await pipeline.stop()


class _Records:
    """A bus whose backlog probe answers ``depth`` records."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def backlog(self, group: str, topic: str) -> int:
        return self.depth


def _request(records: int, readings_each: int) -> list[SensorBatch]:
    return [SensorBatch(sensor, None, list(range(readings_each)), [0.5] * readings_each, 1, 1, "http", 0, "ref")
            for sensor in range(1, records + 1)]


def test_the_backlog_is_counted_in_readings_whatever_the_size_of_the_records() -> None:
    bus = _Records(10)
    admission = Admission(bus, AdmissionSettings(max_backlog=500, retry_after_s=1), check_interval_s=0)
    assert admission.backlog() == 10  # nothing accepted yet: a record counts as one reading
    admission.on_accepted(_request(4, 50))  # records of 50 readings
    assert admission.readings_per_record == 50 and admission.readings_per_request == 200
    assert admission.backlog() == 500
    assert REGISTRY.get_sample_value("ghgwatch_ingest_backlog_readings") == 500  # the gauges of the last probe
    assert REGISTRY.get_sample_value("ghgwatch_ingest_backlog_records") == 10
    admission.check("http")
    bus.depth = 11  # 550 readings waiting
    with pytest.raises(Problem) as refused:
        admission.check("http")
    assert "about 550 readings" in refused.value.detail
    for _ in range(500):  # the mean follows what senders send now: records of one reading
        admission.on_accepted(_request(1, 1))
    assert admission.readings_per_record < 1.05
    admission.check("http")


def test_requests_admitted_between_probes_count_as_requests_of_the_mean_size() -> None:
    admission = Admission(_Records(0), AdmissionSettings(max_backlog=1_000, retry_after_s=1), check_interval_s=3600)
    admission.on_accepted(_request(2, 150))  # 300 readings a request
    for _ in range(4):  # probed once (0 waiting), then 0, 300, 600, 900 <= 1,000
        admission.check("http")
    with pytest.raises(Problem):
        admission.check("http")  # 1,200 > 1,000 although the bus was not probed again


async def test_large_records_slow_senders_as_soon_as_their_readings_pass_the_limit(tmp_path: Path, db_url: str,
                                                                                   db: Database) -> None:
    """One sensor's 20 readings a request make one record: counted in records, 100 such requests (2,000 readings)
    would pass a limit of 100 before any sender were slowed."""
    del db
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    async for p in _platform(tmp_path, db_url, "embedded:", admission={"max_backlog": 100, "retry_after_s": 1}):
        await p.extras["pipeline"].stop()  # storage stops keeping up

        def twenty(i: int, sensor: int = p.world.sensor_a) -> dict[str, list[dict[str, object]]]:
            return {"readings": [{"sensor": sensor, "ts": (t0 + timedelta(seconds=20 * i + k)).isoformat(),
                                  "value": 0.5} for k in range(20)]}

        statuses = [(await p.client.post("/api/v1/readings", json=twenty(i), headers=p.auth)).status_code
                    for i in range(30)]
        accepted = statuses.count(202)
        # 100 readings are 5 requests; the probe every 50 ms and the mean request size between probes allow a few more
        assert 5 <= accepted <= 8 and statuses == [202] * accepted + [503] * (30 - accepted), statuses
