"""Settings of lab results and of measured (UAV) leaks: ``GHGWATCH_LAB__*``, ``GHGWATCH_LEAKS__*``.

The defaults are project choices, not normative values (docs/lab.md, docs/uav.md): a sensor's own tolerance
from its passport should replace them when the registry gets such a field.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class LabSettings(BaseModel):
    check_window_s: float = Field(default=900.0, gt=0)
    """A sample is compared with the sensor reading nearest in time within ± this many seconds."""
    tolerance_relative: float = Field(default=0.10, ge=0)
    """Default tolerance: this share of the lab value ..."""
    tolerance_span_fraction: float = Field(default=0.025, ge=0)
    """... or this share of the sensor's span (range_max − range_min), whichever is larger."""


class LeakSettings(BaseModel):
    alert_rate_kg_h: float | None = Field(default=100.0, gt=0)
    """A quantified UAV leak at or above this CH4 rate opens an alert; ``None`` disables it. Default 100 kg/h:
    the "super-emitter" level of the US EPA methane rule (40 CFR 60 subpart OOOOb) [M] (recalled, docs/uav.md)."""
