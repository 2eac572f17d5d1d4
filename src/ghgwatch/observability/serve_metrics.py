"""A stand-alone metrics endpoint with synthetic traffic, for testing rules and dashboards.

``python -m ghgwatch.observability.serve_metrics --port 18000`` initialises every metric, observes
each one at least once, and keeps a few demo sensors and sources moving once a second until
``--max-seconds`` have passed (or it is killed). It is what the dashboard tests scrape until
``ghgwatch up --demo`` exposes the same series; it is not used in production.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Sequence

from prometheus_client import start_http_server

from ghgwatch.observability import metrics as m
from ghgwatch.observability.sensors import SensorSeries

DEMO_SENSORS = (
    ("ch4-lw1-out", "methane", "mine-1"),
    ("ch4-shaft-2", "methane", "mine-1"),
    ("ch4-drain-1", "methane", "mine-2"),
    ("co2-boiler-1", "co2", "boiler-house-1"),
)
DEMO_SOURCES = (
    ("methane", "mine-1", "ventilation-shaft-2"),
    ("methane", "mine-1", "drainage-station-1"),
    ("methane", "mine-2", "ventilation-shaft-1"),
    ("co2", "boiler-house-1", "boiler-1"),
)


def touch_all(sensors: SensorSeries, tick: int, rng: random.Random) -> None:
    """One round of synthetic activity that touches every metric family."""
    m.observe_accepted("http", rng.randint(50, 150))
    m.observe_accepted("mqtt", rng.randint(50, 150))
    m.observe_rejected("out_of_range", "http", rng.randint(0, 3))
    m.observe_rejected("signature", "mqtt", rng.randint(0, 1))
    m.observe_ingest_request("http", rng.uniform(0.002, 0.05))
    m.observe_ingest_request("mqtt", rng.uniform(0.001, 0.01))
    m.set_consumer_lag("pipeline", "readings.raw.v1", rng.randint(0, 40))
    m.set_consumer_lag("notifier", "alerts.v1", rng.randint(0, 2))
    m.observe_publish("readings.raw.v1", rng.uniform(0.001, 0.02))
    m.observe_batch(rng.randint(20, 300), rng.uniform(0.01, 0.2))
    m.observe_accept_to_stored(rng.uniform(0.02, 0.8) for _ in range(20))
    m.observe_store_write("readings", rng.uniform(0.002, 0.05))
    m.observe_store_query("readings_range", rng.uniform(0.002, 0.08))
    if tick % 10 == 0:
        m.alert_opened("warning", "threshold")
        m.observe_notification("webhook", "success")
        m.observe_notification("email", "failure" if tick % 30 == 0 else "success")
    m.observe_analytics_job("forecast", rng.uniform(0.5, 4.0))
    m.observe_inference("linear", rng.uniform(0.001, 0.01))
    for i, (sensor, kind, facility) in enumerate(DEMO_SENSORS):
        base = 0.6 if kind == "methane" else 0.08
        value = base + 0.3 * math.sin((tick + 7 * i) / 20) + rng.uniform(-0.02, 0.02)
        sensors.set_value(sensor, kind, facility, round(max(value, 0.0), 4))
        sensors.set_forecast(sensor, kind, facility, round(max(value + rng.uniform(-0.05, 0.05), 0.0), 4))
        m.set_forecast_abs_error("linear", "methane_concentration", rng.uniform(0.0, 0.05))
    for i, (gas, facility, source) in enumerate(DEMO_SOURCES):
        sensors.set_emission_rate(gas, facility, source, 400.0 + 100 * math.sin((tick + 5 * i) / 30))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--max-sensor-series", type=int, default=100)
    args = parser.parse_args(argv)

    m.init_metrics(role="all", mode="embedded", max_sensor_series=args.max_sensor_series)
    sensors = SensorSeries(args.max_sensor_series)
    rng = random.Random(7)
    touch_all(sensors, 0, rng)
    server, thread = start_http_server(args.port, addr=args.host)
    deadline = time.monotonic() + args.max_seconds
    tick = 1
    try:
        while time.monotonic() < deadline:
            time.sleep(1.0)
            touch_all(sensors, tick, rng)
            tick += 1
    finally:
        server.shutdown()
        thread.join(timeout=5)


if __name__ == "__main__":
    main()
