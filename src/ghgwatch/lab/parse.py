"""Reading lab result files (CSV or XLSX) into checked rows; every bad row is reported by its number.

Header (case-insensitive, any order): ``sample_id,source,sampled_at,gas,concentration,unit`` required;
``method,laboratory,certificate,flags`` optional. ``source`` is a source id or name of the facility (may be
empty); ``sampled_at`` is ISO 8601 (no zone: UTC); ``gas`` one of :data:`GASES`; ``unit`` one of ``%`` (by
volume; ``% vol`` and ``%vol`` are accepted), ``ppm``, ``ppb``, ``mg/m3``; ``flags`` is a ``;``-separated list of
words. The header is row 1, the first data row row 2 (as a spreadsheet shows them).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ghgwatch.kit.sheets import RowErrors, read_rows

REQUIRED = ("sample_id", "source", "sampled_at", "gas", "concentration", "unit")
OPTIONAL = ("method", "laboratory", "certificate", "flags")
GASES = ("ch4", "co2", "n2o", "c2h6", "co", "o2", "n2", "h2", "h2s")
_UNITS = {"%": "%", "% vol": "%", "%vol": "%", "vol%": "%", "% об.": "%", "ppm": "ppm", "ppmv": "ppm",
          "ppb": "ppb", "ppbv": "ppb", "mg/m3": "mg/m3", "mg/m³": "mg/m3"}
_MAX = {"%": 100.0, "ppm": 1.0e6, "ppb": 1.0e9, "mg/m3": 2.0e6}
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_ERRORS = 100
_LIMITS = {"sample_id": 100, "method": 200, "laboratory": 200, "certificate": 100, "source": 200}



class LabFileError(RowErrors):
    """``errors``: ``(row, message)`` pairs (row 0: the file as a whole)."""


@dataclass(frozen=True)
class LabRow:
    row: int
    sample_id: str
    source: str | None
    sampled_at: datetime
    gas: str
    concentration: float
    unit: str
    method: str | None = None
    laboratory: str | None = None
    certificate: str | None = None
    flags: list[str] = field(default_factory=list)


def normalise_unit(text: str) -> str | None:
    """``%``, ``ppm``, ``ppb`` or ``mg/m3`` for the spellings accepted, else ``None``."""
    return _UNITS.get(text.strip().lower().replace("м3", "m3"))


def to_unit(value: float, unit: str, target: str) -> float | None:
    """A volume fraction converted between ``%``, ``ppm`` and ``ppb``; ``None`` when it cannot be (mass units)."""
    scale = {"%": 1.0e4, "ppm": 1.0, "ppb": 1.0e-3}
    if unit not in scale or target not in scale:
        return None
    return value * scale[unit] / scale[target]


def _records(data: bytes, fmt: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    return read_rows(data, fmt, LabFileError)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = _text(value)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _row(number: int, cells: dict[str, Any], now: datetime) -> tuple[LabRow | None, list[str]]:
    text = {name: _text(cells.get(name)) for name in REQUIRED + OPTIONAL}
    problems = [f"{name}: empty" for name in ("sample_id", "sampled_at", "gas", "concentration", "unit")
                if not text[name]]
    for name, limit in _LIMITS.items():
        if len(text[name]) > limit:
            problems.append(f"{name}: longer than {limit} characters")
    moment: datetime | None = None
    if text["sampled_at"]:
        try:
            moment = _moment(cells.get("sampled_at"))
        except (ValueError, TypeError):
            problems.append(f"sampled_at: {text['sampled_at']!r} is not an ISO 8601 time")
        else:
            if moment > now:
                problems.append(f"sampled_at: {moment.isoformat()} is in the future")
    gas = text["gas"].lower()
    if gas and gas not in GASES:
        problems.append(f"gas: {text['gas']!r} is not one of {', '.join(GASES)}")
    unit = normalise_unit(text["unit"]) if text["unit"] else None
    if text["unit"] and unit is None:
        problems.append(f"unit: {text['unit']!r} is not one of %, ppm, ppb, mg/m3")
    value: float | None = None
    if text["concentration"]:
        try:
            value = float(text["concentration"].replace(",", "."))
        except ValueError:
            problems.append(f"concentration: {text['concentration']!r} is not a number")
        else:
            if not math.isfinite(value) or value < 0:
                problems.append(f"concentration: {text['concentration']} must be a finite number ≥ 0")
            elif unit is not None and value > _MAX[unit]:
                problems.append(f"concentration: {value:g} {unit} is above {_MAX[unit]:g} {unit}")
    flags = [f.strip().lower() for f in text["flags"].split(";") if f.strip()]
    bad = [f for f in flags if not _FLAG.match(f)]
    if bad:
        problems.append(f"flags: {', '.join(map(repr, bad))} (a flag is a word of a-z, 0-9, _)")
    if problems or moment is None or value is None or unit is None:
        return None, problems
    return LabRow(row=number, sample_id=text["sample_id"], source=text["source"] or None, sampled_at=moment,
                  gas=gas, concentration=value, unit=unit, method=text["method"] or None,
                  laboratory=text["laboratory"] or None, certificate=text["certificate"] or None,
                  flags=sorted(set(flags))), []


def parse_lab_file(data: bytes, fmt: str = "csv", *, now: datetime | None = None) -> list[LabRow]:
    """Parse ``data`` (``fmt`` ``csv`` or ``xlsx``); raises :class:`LabFileError` listing every bad row."""
    fmt = fmt.lower().lstrip(".")
    header, body = _records(data, fmt)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise LabFileError([(1, f"missing column(s): {', '.join(missing)}; the header must include "
                                + ",".join(REQUIRED))])
    index = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
    moment = now or datetime.now(UTC)
    rows: list[LabRow] = []
    errors: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(body, start=2):
        if all(v is None or str(v).strip() == "" for v in raw):
            continue
        cells = {name: (raw[i] if i < len(raw) else None) for name, i in index.items()}
        parsed, problems = _row(number, cells, moment)
        if parsed is not None:
            first = seen.setdefault((parsed.sample_id, parsed.gas), number)
            if first != number:
                problems = [f"sample_id: {parsed.sample_id!r} with gas {parsed.gas} repeats row {first}"]
        if problems:
            errors.append((number, "; ".join(problems)))
            if len(errors) >= _MAX_ERRORS:
                break
        elif parsed is not None:
            rows.append(parsed)
    if errors:
        raise LabFileError(errors)
    if not rows:
        raise LabFileError([(0, "the file has no data rows")])
    return rows
