"""Issue 10, cluster mode: a partition that moves between the live lane's ownership check and its turn of the engine's
lock. The readings were judged by the engine of the replica that had just lost the sensor (state it can no longer
resolve, a last reading time that becomes a phantom silent alert if the partition comes back). The check is now made
again under the lock, where the hand-over changes the assignment, and such readings go to the accept lane.

The platform is embedded (one member owns every partition); the test plays the hand-over: it gives the replica every
partition, holds the engine's lock while a reading is posted (the live lane checks ownership, then waits for the
lock), revokes the partitions as ``Handover._revoked`` does under that lock, and lets go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from conftest import AlertPlatform
from ghgwatch.ingest.wire import SensorBatch


class RecordingAcceptLane:
    """Stands in for ``AcceptLane`` (tested on its own in test_accept_lane.py): records what it is given."""

    def __init__(self) -> None:
        self.batches: list[SensorBatch] = []

    def on_accepted(self, batches: Sequence[SensorBatch]) -> None:
        self.batches.extend(batches)

    async def stop(self) -> None:
        return None


async def test_readings_of_a_partition_revoked_while_they_waited_for_the_engine_go_to_the_accept_lane(
        alert_platform: AlertPlatform) -> None:
    p = alert_platform
    svc = p.service
    sensor = await p.new_sensor(kind="methane", unit="%", alarm_level=0.75)
    ts = await p.post(sensor, [0.1])
    await p.judged(sensor, ts)  # the engine knows the sensor (no rebuild on the way)
    lane = RecordingAcceptLane()
    handover = svc.handover
    svc.accept_lane = lane  # type: ignore[assignment]
    try:
        async with svc._lock:
            handover.partitions, handover.count = frozenset(range(4)), 4  # this replica receives every sensor
        accepted = svc.judged_at_accept
        async with svc._lock:
            await p.post(sensor, [0.9], start=ts + 1)
            deadline = time.monotonic() + 30
            while svc.judged_at_accept == accepted:  # checked as received, now waiting for the lock
                assert time.monotonic() < deadline, "the live lane did not take the reading"
                await asyncio.sleep(0.01)
            handover.partitions = frozenset()  # revoked meanwhile (under the lock, as Handover._revoked)
        deadline = time.monotonic() + 30
        while not lane.batches:
            assert time.monotonic() < deadline, (
                f"the reading did not reach the accept lane; engine's last ts {svc.engine.last_ts(str(sensor))}")
            await asyncio.sleep(0.01)
        # The live lane's engine did not judge it: it went to the accept lane. (The engine's state is not checked: in
        # this embedded platform the pipeline still stores the reading and the stored lane judges it, where in a
        # cluster the pipeline would no longer receive a revoked partition; a full run saw that judgement first.)
        assert [(b.sensor, b.values) for b in lane.batches] == [(sensor, [0.9])]
    finally:
        async with svc._lock:
            handover.partitions, handover.count = None, 0
        svc.accept_lane = None
