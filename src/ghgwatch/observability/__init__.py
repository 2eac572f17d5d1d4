"""Metrics, structured logs and optional tracing.

The metric objects and their helpers live in :mod:`ghgwatch.observability.metrics`; per-sensor gauges
behind a configured limit in :mod:`ghgwatch.observability.sensors`; logging in
:mod:`ghgwatch.observability.logging`; optional OpenTelemetry in :mod:`ghgwatch.observability.tracing`.
"""

from __future__ import annotations
