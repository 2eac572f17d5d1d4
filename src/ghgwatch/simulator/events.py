"""Scripted events: things that go wrong on purpose, so a demo shows alerts within minutes.

Offsets are seconds from the start of the live simulation; a backfill (times before the start) never
contains events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from ghgwatch.simulator._noise import FloatArray
from ghgwatch.simulator.sensors import SensorSpec


class EventKind(StrEnum):
    METHANE_BUILDUP = "methane_buildup"
    """CH4 rises linearly to ``peak`` over the first ``rise_share`` of the window, then falls back."""
    STUCK = "stuck"
    """The sensor repeats the exact value it had at the start of the window."""
    SILENT = "silent"
    """The sensor sends nothing during the window."""


@dataclass(frozen=True)
class Event:
    kind: EventKind
    sensor: int
    start_s: float
    duration_s: float
    peak: float = 1.5
    rise_share: float = 0.6

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.start_s < 0:
            raise ValueError(f"{self.kind}: start must be >= 0 and duration > 0")
        if not 0 < self.rise_share < 1:
            raise ValueError(f"{self.kind}: rise_share must be in (0, 1)")

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def window(self, offsets: FloatArray) -> np.ndarray:
        """Boolean mask of the offsets (seconds from the start) inside ``[start, end)``."""
        return (offsets >= self.start_s) & (offsets < self.end_s)

    def buildup_shape(self, offsets: FloatArray) -> FloatArray:
        """0 at the window's edges, 1 at the peak; linear on both sides."""
        x = (offsets - self.start_s) / self.duration_s
        rise = np.clip(x / self.rise_share, 0.0, 1.0)
        fall = np.clip((1.0 - x) / (1.0 - self.rise_share), 0.0, 1.0)
        return np.where(self.window(offsets), np.minimum(rise, fall), 0.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        if self.kind is not EventKind.METHANE_BUILDUP:
            del data["peak"], data["rise_share"]
        return data


def _first(sensors: Sequence[SensorSpec], kind: str, location: str | None = None) -> SensorSpec | None:
    return next((s for s in sensors if s.kind == kind and (location is None or s.location == location)), None)


def default_events(sensors: Sequence[SensorSpec]) -> list[Event]:
    """The demo schedule: a longwall CH4 build-up at 1 min, a stuck sensor at 1.5 min, a silent one at 2 min.

    The build-up (3 min, peaking at 1.5 %) crosses the 1.0 % limit for longwall outgoing air
    (METHODOLOGY.md §2.3) about 50 s after it starts. Events whose sensor kind is absent are left out.
    """
    events: list[Event] = []
    longwall = _first(sensors, "methane", "longwall_outgoing") or _first(sensors, "methane")
    if longwall is not None:
        events.append(Event(EventKind.METHANE_BUILDUP, longwall.id, start_s=60.0, duration_s=180.0))
    stuck = _first(sensors, "temperature") or _first(sensors, "methane", "mine_outgoing")
    if stuck is not None:
        events.append(Event(EventKind.STUCK, stuck.id, start_s=90.0, duration_s=300.0))
    silent = _first(sensors, "air_flow")
    if silent is not None:
        events.append(Event(EventKind.SILENT, silent.id, start_s=120.0, duration_s=300.0))
    return events


def describe(events: Sequence[Event], sensors: Sequence[SensorSpec]) -> list[dict[str, Any]]:
    """The schedule with sensor names, for the CLI, the docs and the tests."""
    names = {s.id: f"{s.name} ({s.source})" if s.source else s.name for s in sensors}
    return [{**e.to_dict(), "sensor_name": names.get(e.sensor, f"sensor {e.sensor}")} for e in events]
