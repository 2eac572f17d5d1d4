"""What ``/metrics`` shows, and to whom (issue 12, hole 5).

Per-sensor and per-source series (``ghgwatch_sensor_value``, ``ghgwatch_sensor_forecast``,
``ghgwatch_emission_rate_kg_per_hour``: labels ``sensor``, ``source``, ``facility``) carry live values of
organisations. They are shown only to a scraper presenting ``Authorization: Bearer <observability.metrics_token>``.
Without a configured token, ``/metrics`` is public but leaves those families out; with a token configured, a
request without it is refused (401) so that a misconfigured Prometheus is noticed rather than silently fed less.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

PRIVATE_LABELS = frozenset({"sensor", "source", "facility"})


class _Public(Collector):
    """The default registry without families that carry a per-sensor, per-source or per-facility label."""

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            if not any(PRIVATE_LABELS & sample.labels.keys() for sample in family.samples):
                yield family


def authorised(header: str | None, token: str | None) -> bool:
    """Whether ``Authorization`` carries the metrics token (constant-time compare)."""
    if not token or not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def render(*, full: bool) -> bytes:
    return generate_latest(REGISTRY if full else _Public())
