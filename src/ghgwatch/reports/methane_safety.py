"""Monthly methane-safety report: exceedances of a CH4 threshold per sensor (start, end, duration, peak).

An exceedance is a run of consecutive readings of one sensor with value strictly above the threshold
(the rules set maximum permissible concentrations, e.g. 1 % in the outgoing air of a stope, METHODOLOGY
§2.3 [M]; the threshold is a parameter). It starts at the first reading above the threshold and ends at
the first following reading at or below it; if the data end first, it ends at the last reading and is
marked ongoing. Naive timestamps are taken as UTC. The month and the times printed are those of the
report's time zone (``tz``, an IANA name such as ``Asia/Novokuznetsk``; UTC by default), to the second.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.reports.document import Cell, Chart, Lang, ReportDocument, Section
from ghgwatch.reports.i18n import t, yes_no


@dataclass(frozen=True, slots=True)
class Reading:
    timestamp: datetime
    sensor: str
    value: float


@dataclass(frozen=True, slots=True)
class Exceedance:
    sensor: str
    start: datetime
    end: datetime
    peak: float
    peak_at: datetime
    readings: int
    ongoing: bool

    @property
    def duration_min(self) -> float:
        return (self.end - self.start).total_seconds() / 60.0


class ReadingsFormatError(ValueError):
    pass


def read_readings_csv(path: Path) -> tuple[list[Reading], str]:
    """Readings from a CSV with header ``timestamp,sensor,value`` and the file's SHA-256."""
    raw = path.read_bytes()
    rows = csv.DictReader(raw.decode("utf-8-sig").splitlines())
    if rows.fieldnames is None or not {"timestamp", "sensor", "value"} <= set(rows.fieldnames):
        raise ReadingsFormatError(f"{path}: header must be timestamp,sensor,value")
    out: list[Reading] = []
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(
                Reading(ensure_utc(datetime.fromisoformat(row["timestamp"])), row["sensor"], float(row["value"]))
            )
        except (TypeError, ValueError) as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise ReadingsFormatError(f"{path}: " + "; ".join(problems[:20]))
    return out, hashlib.sha256(raw).hexdigest()


def zone(tz: str) -> tzinfo:
    """An IANA time zone by name; ValueError naming the value otherwise."""
    if tz.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}; give an IANA name such as 'Asia/Novokuznetsk' or 'UTC'") \
            from None


def month_bounds(month: str, tz: str = "UTC") -> tuple[datetime, datetime]:
    """``"2025-03"`` → [2025-03-01, 2025-04-01) in the time zone ``tz``."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=zone(tz))
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone(tz))
    return start, end


def find_exceedances(readings: Iterable[Reading], threshold: float, month: str | None = None,
                     tz: str = "UTC") -> list[Exceedance]:
    by_sensor: dict[str, list[Reading]] = defaultdict(list)
    lo, hi = month_bounds(month, tz) if month else (None, None)
    for r in readings:
        if lo is not None and hi is not None and not lo <= r.timestamp < hi:
            continue
        by_sensor[r.sensor].append(r)
    out: list[Exceedance] = []
    for sensor in sorted(by_sensor):
        series = sorted(by_sensor[sensor], key=lambda r: r.timestamp)
        run: list[Reading] = []
        for r in series:
            if r.value > threshold:
                run.append(r)
            elif run:
                out.append(_close(sensor, run, r.timestamp, ongoing=False))
                run = []
        if run:
            out.append(_close(sensor, run, run[-1].timestamp, ongoing=True))
    return out


def _close(sensor: str, run: list[Reading], end: datetime, *, ongoing: bool) -> Exceedance:
    peak = max(run, key=lambda r: r.value)
    return Exceedance(sensor, run[0].timestamp, end, peak.value, peak.timestamp, len(run), ongoing)


def _local(d: datetime, tz: tzinfo) -> str:
    """Local date and time to the second (no ISO ``T``, offset or microseconds)."""
    return d.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _offset(tz: str, month: str | None) -> str:
    at = month_bounds(month, tz)[0] if month else datetime.now(UTC).astimezone(zone(tz))
    off = at.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{tz} (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def build_methane_safety_report(
    exceedances: list[Exceedance],
    threshold: float,
    inputs_sha256: str,
    month: str | None = None,
    lang: Lang = "en",
    *,
    thresholds: dict[str, float] | None = None,
    title_suffix: str = "",
    tz: str = "UTC",
) -> ReportDocument:
    """``thresholds``: per-sensor limits when they differ (listed in the meta); ``threshold`` is then the
    lowest of them. ``title_suffix`` names the facility in the title; ``tz`` the time zone of the times."""
    where = zone(tz)
    rows: list[list[Cell]] = [
        [
            e.sensor,
            _local(e.start, where),
            _local(e.end, where),
            round(e.duration_min, 2),
            e.peak,
            _local(e.peak_at, where),
            yes_no(e.ongoing, lang),
        ]
        for e in exceedances
    ]
    per: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for e in exceedances:
        acc = per[e.sensor]
        acc[0] += 1
        acc[1] += e.duration_min
        acc[2] = max(acc[2], e.peak)
    summary: list[list[Cell]] = [[s, int(v[0]), round(v[1], 2), v[2]] for s, v in sorted(per.items())]
    meta = [
        (t("month", lang), month or "—"),
        (t("time_zone", lang), _offset(tz, month)),
        (t("threshold_pct", lang), f"{threshold:g}"),
        (t("count", lang), str(len(exceedances))),
        (t("sha", lang), inputs_sha256),
    ]
    if thresholds:
        listed = "; ".join(f"{k}: {v:g}" for k, v in sorted(thresholds.items()))
        meta.insert(2, (t("thresholds_by_sensor", lang), listed))
    sections = [
        Section(
            "summary",
            t("sec_sensors", lang),
            [t("sensor", lang), t("count", lang), t("duration_min", lang), t("peak", lang)],
            summary,
        ),
        Section(
            "exceedances",
            t("sec_exc", lang),
            [
                t("sensor", lang),
                t("start", lang),
                t("end", lang),
                t("duration_min", lang),
                t("peak", lang),
                t("peak_at", lang),
                t("ongoing", lang),
            ],
            rows,
            sheet="Exceedances",
        ),
    ]
    chart = (
        Chart(
            t("chart_sensors", lang),
            sorted(per),
            [per[s][1] for s in sorted(per)],
            t("duration_min", lang),
        )
        if summary
        else None
    )
    return ReportDocument(
        "methane-safety",
        lang,
        t("safety_title", lang) + title_suffix,
        meta,
        sections,
        inputs_sha256,
        chart,
        extra={"threshold": threshold, "month": month, "time_zone": tz},
    )
