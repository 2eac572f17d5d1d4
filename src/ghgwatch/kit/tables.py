"""The one reader of time-series files for the file commands (``detect``, ``forecast``, ``gaps``, ``correlate``,
``model``): a CSV or XLSX table with a time column, read the way real sensor exports are written.

Accepted (documented in docs/analytics.md, "Input files"):

* CSV separated by ``,``, ``;`` or tabs, UTF-8 with or without a byte-order mark, or Windows-1251 (what
  Excel writes in a Russian locale); XLSX (first sheet).
* Blank lines anywhere: skipped, and row numbers in messages stay the line numbers of the file.
* Numbers with a decimal point or comma and spaces as thousands separators (:func:`kit.values.parse_number`);
  ``""``, ``NA``, ``NaN``, ``null`` are empty cells (gaps).
* Times in ISO 8601, ``DD.MM.YYYY HH:MM[:SS]`` or Unix seconds; a time zone in the file is kept (one offset
  for the whole file is kept as it is, several are converted to UTC), naive times stay naive.
* Headers in English or Russian: a time column named timestamp, time, datetime, date, время, дата, ...
  (separate ``дата`` and ``время`` columns are joined), the value column value, значение, ...

Policies, the same for every command:

* **Clock stepping back**: each such row gives a warning naming it, then rows are used **in time order**
  (a stable sort, so rows with equal times keep their file order).
* **Duplicate times**: the first row of a time is kept; each later one is dropped with a warning naming
  both rows.
* **Errors** raise :class:`InputError`: ``file, row R, column 'C': what`` (row = line in the file, header 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ghgwatch.kit.sheets import RowErrors, read_rows
from ghgwatch.kit.values import format_moment, is_missing, parse_moment, parse_number

TIME = "timestamp"
VALUE = "value"
TIME_NAMES = frozenset(
    {"timestamp", "time", "datetime", "date_time", "date", "ts", "время", "дата", "дата и время", "дата/время",
     "дата_время", "датавремя", "метка времени", "момент"}
)
VALUE_NAMES = frozenset({"value", "значение", "величина", "показание", "показания"})
_DATE_ONLY, _TIME_ONLY = ("date", "дата"), ("time", "время")


class InputError(RowErrors):
    """Bad input data; ``str()`` reads ``file, row R, column 'C': message`` (row = line in the file)."""

    def __init__(
        self, message: str, *, path: str | Path | None = None, row: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.row, self.column, self.reason = path, row, column, message
        where = [str(path)] if path is not None else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__([(row or 0, message)])
        self.args = (f"{', '.join(where)}: {message}" if where else message,)

    def __str__(self) -> str:
        return str(self.args[0])


def column_key(name: str) -> str:
    """The name a column has in the table read: lower case, single spaces, ``timestamp`` / ``value`` for
    their English and Russian synonyms (so ``--target "Значение"`` finds the value column)."""
    key = " ".join(name.lower().split())
    return TIME if key in TIME_NAMES else VALUE if key in VALUE_NAMES else key


def _canonical(written: list[str]) -> tuple[list[str], dict[str, str], tuple[int, int] | None]:
    """Canonical column names, what each was called in the file, and the (date, time) columns to join."""
    header = [" ".join(h.lower().split()) for h in written]
    names = list(header)
    split: tuple[int, int] | None = None
    if not any(h in TIME_NAMES - {*_DATE_ONLY, *_TIME_ONLY} for h in header):
        dates = [i for i, h in enumerate(header) if h in _DATE_ONLY]
        times = [i for i, h in enumerate(header) if h in _TIME_ONLY]
        if dates and times:
            split = (dates[0], times[0])
    for i, h in enumerate(header):
        if h in TIME_NAMES and TIME not in names[:i] and (split is None or i == split[0]):
            names[i] = TIME
        elif h in VALUE_NAMES and VALUE not in names:
            names[i] = VALUE
    return names, {n: (h or n) for n, h in zip(names, written, strict=True)}, split


def _cell(row: tuple[Any, ...], i: int) -> Any:
    return row[i] if i < len(row) else None


def _time_index(moments: list[datetime], rows: list[int], path: Path, column: str) -> pd.DatetimeIndex:
    aware = [m.tzinfo is not None for m in moments]
    if any(aware) and not all(aware):
        k = aware.index(not aware[0])
        raise InputError(
            f"a time {'with' if aware[k] else 'without'} a time zone, unlike row {rows[0]}", path=path, row=rows[k],
            column=column,
        )
    if not aware[0]:
        return pd.DatetimeIndex(moments, name=TIME).as_unit("us")
    offsets = {m.utcoffset() for m in moments}
    utc = pd.DatetimeIndex([m.astimezone(UTC) for m in moments], name=TIME).as_unit("us")
    only = offsets.pop() if len(offsets) == 1 else None
    return utc if only is None or not only else utc.tz_convert(timezone(only))


def _numeric(cells: list[Any], rows: list[int], path: Path, column: str, *, strict: bool) -> np.ndarray | None:
    out = np.full(len(cells), np.nan)
    bad: list[int] = []
    known = 0
    for k, cell in enumerate(cells):
        if is_missing(cell):
            continue
        known += 1
        try:
            out[k] = parse_number(cell)
        except (ValueError, TypeError):
            bad.append(k)
            continue
        if not math.isfinite(out[k]):
            raise InputError(f"{cell!r} is not a finite number", path=path, row=rows[k], column=column)
    if bad:
        if not strict and len(bad) * 2 > known:
            return None  # a text column (labels): not a numeric series
        raise InputError(f"{cells[bad[0]]!r} is not a number", path=path, row=rows[bad[0]], column=column)
    return out


def _open(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=path) from None
    fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    try:
        return read_rows(data, fmt, fallback_encoding="cp1251", lower=False)
    except RowErrors as exc:
        raise InputError(exc.errors[0][1], path=path) from None


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    time: Literal["required", "optional", "none"] = "required",
    min_rows: int = 2,
    warnings: list[str] | None = None,
) -> pd.DataFrame:
    """Float columns indexed by time (in time order, see the module's policies); empty cells are NaN.

    ``required`` columns must exist and be numeric (``value`` also matches a Russian ``значение``); another
    column is dropped when most of its cells are text (a label column), and otherwise a text cell is an
    error. ``time="optional"`` uses a time column when there is one; ``"none"`` keeps the file's rows.
    Warnings (clock steps, dropped duplicates) are appended to ``warnings``."""
    path = Path(path)
    required = [column_key(c) for c in required]
    header, body = _open(path)
    names, shown, split = _canonical(header)
    for col in ([TIME] if time == "required" else []) + list(required):
        if col not in names:
            raise InputError(
                f"missing column (found: {', '.join(h for h in header if h)})", path=path, row=1, column=col
            )
    use_time = time != "none" and TIME in names
    width = len(header)
    rows: list[int] = []
    kept: list[tuple[Any, ...]] = []
    for k, row in enumerate(body):
        if all(is_missing(c) for c in row):
            continue  # a blank line
        extra = [c for c in row[width:] if not is_missing(c)]
        if extra:
            raise InputError(f"expected {width} fields, found {len(row)}", path=path, row=k + 2)
        rows.append(k + 2)
        kept.append(row)
    if len(kept) < min_rows:
        raise InputError(f"too few rows: {len(kept)}, at least {min_rows} are needed", path=path)
    data: dict[str, np.ndarray] = {}
    for i, name in enumerate(names):
        if (use_time and name == TIME) or (split is not None and i == split[1]) or not name:
            continue
        num = _numeric([_cell(r, i) for r in kept], rows, path, shown[name], strict=name in required)
        if num is not None:
            data[name] = num
    table = pd.DataFrame(data)
    if not use_time:
        table.index = pd.RangeIndex(len(table))
        return table
    t = names.index(TIME)
    moments: list[datetime] = []
    for k, r in enumerate(kept):
        cell = _cell(r, t)
        if split is not None:
            cell = f"{'' if is_missing(cell) else cell} {'' if is_missing(_cell(r, split[1])) else _cell(r, split[1])}"
        try:
            moments.append(parse_moment(cell))
        except (ValueError, TypeError, OverflowError):
            raise InputError(
                f"{cell!r} is not a time (ISO 8601, DD.MM.YYYY HH:MM[:SS] or Unix seconds expected)",
                path=path, row=rows[k], column=shown[TIME],
            ) from None
    index = _time_index(moments, rows, path, shown[TIME])
    return _in_time_order(table, index, rows, path, shown[TIME], warnings)


def _in_time_order(
    table: pd.DataFrame, index: pd.DatetimeIndex, rows: list[int], path: Path, column: str, warnings: list[str] | None
) -> pd.DataFrame:
    notes: list[str] = []
    ns = index.asi8
    latest = np.maximum.accumulate(ns)
    for k in np.flatnonzero(ns[1:] < latest[:-1]) + 1:
        back = pd.Timedelta(int(latest[k - 1] - ns[k]), unit=index.unit).total_seconds()
        to = format_moment(index[int(k)].to_pydatetime())
        notes.append(str(InputError(
            f"the clock steps back by {back:g} s to {to}; rows are used in time order", path=path, row=rows[k],
            column=column,
        )))
    order = np.argsort(ns, kind="stable")
    sorted_ns = ns[order]
    dup = np.concatenate(([False], sorted_ns[1:] == sorted_ns[:-1]))
    first_of = order[np.maximum.accumulate(np.where(~dup, np.arange(len(order)), 0))]
    notes.extend(
        str(InputError(
            f"repeats the time of row {rows[first_of[pos]]}; the first is kept, this row is dropped",
            path=path, row=rows[order[pos]], column=column,
        ))
        for pos in np.flatnonzero(dup)
    )
    if warnings is not None:
        warnings.extend(notes)
    keep = order[~dup]
    out = table.iloc[keep].copy()
    out.index = index[keep]
    return out
