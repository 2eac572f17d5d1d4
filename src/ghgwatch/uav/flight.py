"""A UAV flight as arrays, read from CSV or XLSX.

Header (issue 15): ``timestamp,latitude,longitude,altitude_m,wind_speed_ms,wind_dir_deg,temperature_c,
pressure_hpa,ch4_ppm`` with optional ``co2_ppm`` and ``c2h6_ppm``. ``altitude_m`` is above ground,
``wind_dir_deg`` is meteorological (the direction the wind blows from), timestamps are ISO 8601 with a zone
(a timestamp without a zone is taken as UTC). Rows are numbered as a spreadsheet shows them: the header is
row 1, the first data row is row 2. Bad rows are reported all at once by row number, never skipped silently.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ghgwatch.kit.sheets import RowErrors, read_rows

REQUIRED = ("timestamp", "latitude", "longitude", "altitude_m", "wind_speed_ms", "wind_dir_deg",
            "temperature_c", "pressure_hpa", "ch4_ppm")
OPTIONAL = ("co2_ppm", "c2h6_ppm")
COLUMNS = REQUIRED + OPTIONAL

# Plausible physical ranges; a value outside is a bad row (a unit mix-up, a sensor fault), not a number to use.
_RANGES: dict[str, tuple[float, float]] = {
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "altitude_m": (-10.0, 2000.0),
    "wind_speed_ms": (0.0, 60.0),
    "wind_dir_deg": (0.0, 360.0),
    "temperature_c": (-60.0, 60.0),
    "pressure_hpa": (500.0, 1100.0),
    "ch4_ppm": (0.0, 1.0e6),
    "co2_ppm": (0.0, 1.0e6),
    "c2h6_ppm": (0.0, 1.0e6),
}
_MAX_ERRORS = 50

Array = NDArray[np.float64]
Index = NDArray[np.intp]  # sample indices



class FlightFileError(RowErrors):
    """The file cannot be read as a flight; ``errors`` lists ``(row, message)`` pairs (row 0: the file)."""


@dataclass(frozen=True)
class Flight:
    """Samples of one flight in time order; times in seconds since the first sample."""

    started_at: datetime
    t_s: Array
    latitude: Array
    longitude: Array
    altitude_m: Array
    wind_speed_ms: Array
    wind_dir_deg: Array
    temperature_c: Array
    pressure_hpa: Array
    ch4_ppm: Array
    co2_ppm: Array | None = None
    c2h6_ppm: Array | None = None

    def __len__(self) -> int:
        return int(self.t_s.size)

    @property
    def ended_at(self) -> datetime:
        from datetime import timedelta

        return self.started_at + timedelta(seconds=float(self.t_s[-1]) if self.t_s.size else 0.0)

    def rows(self) -> list[dict[str, Any]]:
        """The samples as row dicts with the file's column names (timestamps as ISO strings)."""
        from datetime import timedelta

        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            row: dict[str, Any] = {"timestamp": (self.started_at + timedelta(seconds=float(self.t_s[i]))).isoformat()}
            for name in COLUMNS[1:]:
                values = getattr(self, name)
                if values is not None:
                    row[name] = float(values[i])
            out.append(row)
        return out


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _number(value: Any, name: str) -> float:
    number = float(value) if not isinstance(value, str) else float(value.strip().replace(",", "."))
    if not math.isfinite(number):
        raise ValueError(f"{name}: not a finite number")
    low, high = _RANGES[name]
    if not low <= number <= high:
        raise ValueError(f"{name}: {number:g} is outside {low:g}..{high:g}")
    return number


def _records(data: bytes, suffix: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    return read_rows(data, suffix.lstrip(".") or "csv", FlightFileError)


def parse_flight(data: bytes, fmt: str = "csv") -> Flight:
    """Parse a flight file's bytes (``fmt`` ``csv`` or ``xlsx``); raises :class:`FlightFileError`."""
    header, body = _records(data, "." + fmt.lower().lstrip("."))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FlightFileError([(1, f"missing column(s): {', '.join(missing)}; the header must include "
                                   + ",".join(REQUIRED))])
    index = {name: header.index(name) for name in COLUMNS if name in header}
    errors: list[tuple[int, str]] = []
    parsed: list[tuple[datetime, dict[str, float]]] = []
    for number, raw in enumerate(body, start=2):
        if all(v is None or str(v).strip() == "" for v in raw):
            continue
        cells = {name: (raw[i] if i < len(raw) else None) for name, i in index.items()}
        problems: list[str] = []
        values: dict[str, float] = {}
        moment: datetime | None = None
        for name, value in cells.items():
            if value is None or str(value).strip() == "":
                if name in REQUIRED:
                    problems.append(f"{name}: empty")
                continue
            try:
                if name == "timestamp":
                    moment = _timestamp(value)
                else:
                    values[name] = _number(value, name)
            except (ValueError, TypeError) as exc:
                text = str(exc) if name != "timestamp" else f"timestamp: {value!r} is not an ISO 8601 time"
                problems.append(text if text.startswith(name) else f"{name}: {value!r} is not a number")
        if problems or moment is None:
            errors.append((number, "; ".join(problems)))
            if len(errors) >= _MAX_ERRORS:
                break
            continue
        parsed.append((moment, values))
    if errors:
        raise FlightFileError(errors)
    if len(parsed) < 2:
        raise FlightFileError([(0, "a flight needs at least two samples")])
    order = sorted(range(len(parsed)), key=lambda k: parsed[k][0])
    start = parsed[order[0]][0]
    t = np.array([(parsed[k][0] - start).total_seconds() for k in order], dtype=float)

    def column(name: str) -> Array | None:
        if name not in index:
            return None
        vals = [parsed[k][1].get(name, math.nan) for k in order]
        return np.array(vals, dtype=float)

    def required(name: str) -> Array:
        values = column(name)
        assert values is not None
        return values

    optional = {name: column(name) for name in OPTIONAL}
    return Flight(
        started_at=start.astimezone(UTC), t_s=t,
        latitude=required("latitude"), longitude=required("longitude"), altitude_m=required("altitude_m"),
        wind_speed_ms=required("wind_speed_ms"), wind_dir_deg=required("wind_dir_deg") % 360.0,
        temperature_c=required("temperature_c"), pressure_hpa=required("pressure_hpa"),
        ch4_ppm=required("ch4_ppm"), co2_ppm=optional["co2_ppm"], c2h6_ppm=optional["c2h6_ppm"],
    )


def read_flight(path: Path) -> Flight:
    """Read a flight from a ``.csv`` or ``.xlsx`` file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlightFileError([(0, f"{path}: cannot read ({exc.strerror})")]) from exc
    return parse_flight(data, "xlsx" if path.suffix.lower() == ".xlsx" else "csv")


def flight_to_csv(flight: Flight) -> str:
    """The flight as CSV with the issue's header (optional gas columns when present)."""
    names = [c for c in COLUMNS if c in REQUIRED or getattr(flight, c) is not None]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in flight.rows():
        writer.writerow({k: (f"{v:.7f}" if k in ("latitude", "longitude") else
                             v if isinstance(v, str) else f"{v:.5g}") for k, v in row.items()})
    return buffer.getvalue()
