"""``run_simulation``: pace a ``SiteModel`` in real time into a sender, after an optional backfill.

Readings go round the sensors in turn, ``rate`` readings a second in all, so with 50 sensors at 50
readings/s each sensor reads once a second. A backfill first sends ``backfill_hours`` of history (one
reading per sensor every ``backfill_step_s``) as fast as the server accepts it, so a new demo has charts
and forecasts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ghgwatch.simulator.delivery import Delivery, SimulationStats
from ghgwatch.simulator.events import Event, default_events
from ghgwatch.simulator.model import SiteModel
from ghgwatch.simulator.senders import HttpSender, MqttSender, Reading, Sender, device_id
from ghgwatch.simulator.sensors import SensorSpec, sensors_from


def _reading(sensor: SensorSpec, t: float, value: float) -> Reading:
    reading: Reading = {"sensor": sensor.id, "ts": datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds"),
                        "value": value}
    if sensor.unit:
        reading["unit"] = sensor.unit
    return reading


def live_readings(model: SiteModel, sensors: Sequence[SensorSpec], rate: float, first: int,
                  stop: int) -> tuple[list[Reading], int]:
    """Readings number ``first`` to ``stop - 1`` of a live run (reading k is sensor ``k mod n`` at
    ``model.start + k / rate``), and how many of them the model left out."""
    ks = np.arange(first, stop, dtype=np.int64)
    which = ks % len(sensors)
    times = model.start + ks / rate
    values = np.empty(ks.size)
    for index in np.unique(which):
        mask = which == index
        values[mask] = model.values(sensors[int(index)].id, times[mask])
    readings = [_reading(sensors[int(i)], float(t), float(v))
                for i, t, v in zip(which, times, values, strict=True) if not math.isnan(v)]
    return readings, int(ks.size - len(readings))


def backfill_readings(model: SiteModel, sensors: Sequence[SensorSpec], hours: float, step_s: float,
                      batch_size: int) -> Iterator[tuple[list[Reading], int]]:
    """History before ``model.start`` in time order, in batches, with the count of readings left out of each.

    Each sensor reads every ``step_s``; sensors are staggered across the step so timestamps do not collide.
    """
    steps = int(hours * 3600.0 / step_s)
    grid = model.start - (steps - np.arange(steps, dtype=np.float64)) * step_s
    stagger = np.arange(len(sensors), dtype=np.float64) * step_s / max(len(sensors), 1)
    times = grid[:, np.newaxis] + stagger[np.newaxis, :]
    values = np.column_stack([model.values(s.id, times[:, i]) for i, s in enumerate(sensors)]) if steps else times
    flat_t, flat_v = times.ravel(), values.ravel()
    for lo in range(0, flat_t.size, batch_size):
        batch, skipped = [], 0
        for j in range(lo, min(lo + batch_size, flat_t.size)):
            value = float(flat_v[j])
            if math.isnan(value):
                skipped += 1
            else:
                batch.append(_reading(sensors[j % len(sensors)], float(flat_t[j]), value))
        yield batch, skipped


def make_sender(credentials: Mapping[str, Any], transport: str, mqtt_url: str | None, sign: bool) -> Sender:
    """An HTTP or MQTT sender for the device in ``credentials`` (the demo credentials file)."""
    secret = str(credentials["device_hmac_secret"]) if sign else None
    if sign and not credentials.get("device_hmac_secret"):
        raise ValueError("--sign needs device_hmac_secret in the credentials")
    if transport == "http":
        return HttpSender(str(credentials["api"]), str(credentials["device_token"]), secret=secret)
    if transport == "mqtt":
        url = mqtt_url or credentials.get("mqtt_url")
        if not url:
            raise ValueError("the MQTT transport needs a broker URL (mqtt://user:pass@host:port)")
        return MqttSender(str(url), int(credentials["organization_id"]), device_id(str(credentials["device_token"])),
                          secret=secret)
    raise ValueError(f"unknown transport {transport!r} (http or mqtt)")


async def _backfill(delivery: Delivery, model: SiteModel, sensors: Sequence[SensorSpec], hours: float,
                    step_s: float, stop: asyncio.Event) -> None:
    stats = delivery.stats
    for batch, skipped in backfill_readings(model, sensors, hours, step_s, delivery.batch_size):
        if stop.is_set():
            return
        stats.skipped += skipped
        stats.generated += len(batch)
        stats.backfilled += len(batch)
        if batch:
            await delivery.deliver(batch)


async def run_simulation(
    credentials: Mapping[str, Any],
    *,
    rate: float = 50.0,
    duration_s: float | None = None,
    transport: str = "http",
    mqtt_url: str | None = None,
    sign: bool = False,
    seed: int = 1,
    events: Sequence[Event] | None = None,
    stop: asyncio.Event | None = None,
    backfill_hours: float = 0.0,
    backfill_step_s: float = 60.0,
    batch_size: int = 1000,
    dropout: float = 0.01,
    buffer_size: int = 100_000,
    drain_s: float = 10.0,
    sender: Sender | None = None,
) -> SimulationStats:
    """Send simulated telemetry for the sensors in ``credentials`` until ``duration_s`` passes or ``stop`` is set.

    ``events=None`` uses ``default_events`` (offsets from the start of the live part); pass ``()`` for none.
    ``duration_s=None`` runs until ``stop`` is set or the task is cancelled. ``sender`` replaces the transport
    built from ``transport``/``mqtt_url``/``sign`` (for tests). Returns the counters of the run.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    sensors = sensors_from(credentials["sensors"])
    if not sensors:
        raise ValueError("the credentials list no sensors")
    schedule = default_events(sensors) if events is None else list(events)
    stop = stop or asyncio.Event()
    stats = SimulationStats()
    sender = sender or make_sender(credentials, transport, mqtt_url, sign)
    delivery = Delivery(sender, stats, batch_size=batch_size, capacity=buffer_size)
    task: asyncio.Task[None] | None = None
    try:
        if backfill_hours > 0:
            history = SiteModel(sensors, seed=seed, start=time.time(), events=(), dropout=dropout)
            await _backfill(delivery, history, sensors, backfill_hours, backfill_step_s, stop)
        if duration_s is not None and duration_s <= 0:
            return stats
        loop = asyncio.get_running_loop()
        model = SiteModel(sensors, seed=seed, start=time.time(), events=schedule, dropout=dropout)
        origin = loop.time()
        task = asyncio.create_task(delivery.run())
        period = max(1.0 / rate, 0.25)
        last = math.inf if duration_s is None else math.ceil(duration_s * rate)
        done = 0
        while not stop.is_set() and done < last:
            due = min(math.floor((loop.time() - origin) * rate) + 1, last)
            if due > done:
                readings, skipped = live_readings(model, sensors, rate, done, int(due))
                stats.generated += len(readings)
                stats.skipped += skipped
                delivery.put(readings)
                done = int(due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
        delivery.close(drain_s)
        await task
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sender.aclose()
    return stats
