"""A large stored batch (a backlog) is judged in slices, each a turn of the engine's lock, so the live lane gets in
between them; judged in slices it opens and resolves what it would have judged in one go."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from ghgwatch.alerts import service as alert_service
from ghgwatch.alerts.engine import AlertKey
from ghgwatch.pipeline.runner import StoredBatch
from ghgwatch.readings.writer import SensorRows


async def test_a_large_stored_batch_is_judged_in_slices_with_the_live_lane_between(
        alert_platform: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = alert_platform
    sensor = await p.new_sensor(kind="methane", unit="%", location="longwall_outgoing", expected_interval_s=10)
    await p.rule(str(sensor), "methane_limit", {"kind": "threshold", "alarm": 1.0, "clear_after_s": 0,
                                                "source": "test"})
    svc = p.service
    monkeypatch.setattr(alert_service, "STORED_SLICE", 10)
    slices: list[int] = []
    between: list[bool] = []
    judge = svc._judge

    async def recording(rows: Any) -> None:
        between.append(svc._lock.locked())
        slices.append(sum(len(r.ts) for r in rows))
        await judge(rows)

    monkeypatch.setattr(svc, "_judge", recording)
    t0 = int((time.time() - 60) * 1e6)
    values = [0.5] * 25 + [2.5] + [0.2] * 9
    ts = np.arange(t0, t0 + len(values) * 1_000_000, 1_000_000, dtype=np.int64)
    rows = [SensorRows(sensor, ts, np.array(values), np.zeros(len(values), np.int16))]
    got_in: list[int] = []  # slices judged when the live lane got the lock

    async def live_lane() -> None:  # takes the lock as the live lane does, while the batch is being judged
        while not slices:  # noqa: ASYNC110 (waits for the first slice)
            await asyncio.sleep(0)
        async with svc._lock:
            got_in.append(len(slices))

    other = asyncio.create_task(live_lane())
    await svc.on_stored(StoredBatch(rows, []))
    await other
    assert slices == [10, 10, 10, 5]
    assert got_in and got_in[0] < len(slices), "the live lane waited for the whole batch"
    assert not any(between)
    alerts = await p.wait_for(lambda items: any(a["state"] == "resolved" for a in items), sensor_id=sensor)
    assert [(a["reading_value"], a["state"]) for a in alerts] == [(2.5, "resolved")]
    assert AlertKey(str(sensor), "methane_limit") not in svc.ids
