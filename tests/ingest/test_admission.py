"""Admission control: while the pipeline does not store, ingest answers 503 with Retry-After once the backlog
passes its limit, acknowledges nothing more, and accepts again when storage has caught up."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ghgwatch.ingest.admission import Admission
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
