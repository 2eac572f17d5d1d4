"""Topic names. Versioned: an incompatible change of a payload gets a new topic, never a new meaning."""

from __future__ import annotations

import re

READINGS_RAW = "readings.raw.v1"
"""Readings as accepted from devices (HTTP, MQTT, import), keyed by sensor id."""

READINGS_DEADLETTER = "readings.deadletter.v1"
"""Readings the pipeline refused, with the reason in a header; kept and replayable. Keyed by sensor id."""

ALERTS = "alerts.v1"
"""Alert lifecycle events, keyed by sensor id."""

ALL_TOPICS = (READINGS_RAW, READINGS_DEADLETTER, ALERTS)

_LEGAL = re.compile(r"[A-Za-z0-9._-]{1,200}")


def check_name(name: str, what: str = "topic") -> str:
    """Return ``name`` if it is a legal topic or group name (Kafka's characters, safe as a file name)."""
    if not _LEGAL.fullmatch(name) or name in {".", ".."}:
        raise ValueError(f"illegal {what} name {name!r}: use 1-200 of [A-Za-z0-9._-]")
    return name
