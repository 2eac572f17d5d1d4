"""What a run counts: the period up to now, activity data pro-rated to it, measured data by its coverage.

Rules (issue 13 items 10, 11):

- **Future periods are never counted.** A run's period is cut at the moment it is calculated; activity data
  and telemetry are counted only up to then, and the report says so.
- **Activity data are pro-rated** by the share of their own period that falls inside the counted period
  (in seconds, their ``period_end`` day inclusive): a yearly production figure in a run of one month
  counts 31/365 of it. The engine applies the share to the activity's result (``period_share``).
- **Measured data are never extrapolated silently.** A facility's data fraction is the share of the
  counted period that its telemetry covers (regular plus bridged segments, the lowest over its sources).
  At or above ``min_coverage`` the measured volume stands, the remaining gaps filled by the run's
  ``gap_policy``; below it the ``measured_policy`` decides: ``refuse`` stops the run with a 422 naming the
  facility and its coverage, ``complement`` counts the measured volume of the covered time only and the
  facility's factor-based (Tier 1) mining activities for the uncovered share. Either way the coverage and
  the treatment are in the result's ``data_quality`` and printed in every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

MeasuredPolicy = Literal["complement", "refuse"]
DEFAULT_MIN_COVERAGE = 0.8
"""Project choice (not from a methodology): below 80 % of the period the measured series is not taken as
the facility's emission on its own."""


def counted_period(start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` cut at ``now`` (empty when it starts in the future)."""
    stop = min(end, now)
    return start, max(start, stop)


def period_share(row_start: date, row_end: date, start: datetime, end: datetime) -> float:
    """Share of the row's period ``[row_start, row_end]`` (days inclusive) inside ``[start, end)``."""
    tz = start.tzinfo
    lo = datetime.combine(row_start, time(), tz)
    hi = datetime.combine(row_end + timedelta(days=1), time(), tz)
    whole = (hi - lo).total_seconds()
    inside = (min(hi, end) - max(lo, start)).total_seconds()
    return max(0.0, min(1.0, inside / whole)) if whole > 0 else 0.0


def data_fraction(measurement: dict[str, Any]) -> float:
    """Share of the period with telemetry (regular + bridged), lowest over the integrated sources."""
    values = []
    for s in measurement.get("sources", []):
        integ = s.get("integration")
        if integ and integ.get("period_s"):
            values.append((float(integ["covered_s"]) + float(integ["bridged_s"])) / float(integ["period_s"]))
    return min(values) if values else 0.0


@dataclass
class DataQuality:
    requested_start: datetime
    requested_end: datetime
    counted_start: datetime
    counted_end: datetime
    include_measured: bool
    gap_policy: str
    measured_policy: str
    min_coverage: float
    activity_rows: int = 0
    pro_rated: list[dict[str, Any]] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def future_excluded(self) -> bool:
        return self.counted_end < self.requested_end

    def as_dict(self, activities_in_total: int) -> dict[str, Any]:
        return {
            "requested_period": {"start": self.requested_start.isoformat(), "end": self.requested_end.isoformat()},
            "counted_period": {"start": self.counted_start.isoformat(), "end": self.counted_end.isoformat()},
            "future_excluded": self.future_excluded,
            "include_measured": self.include_measured,
            "gap_policy": self.gap_policy,
            "measured_policy": self.measured_policy,
            "min_coverage": self.min_coverage,
            "activity_rows": self.activity_rows,
            "pro_rated": self.pro_rated,
            "facilities": self.facilities,
            "no_activity_data": activities_in_total == 0,
        }
