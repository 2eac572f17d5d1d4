"""Reading CSV tables for the file-based commands, with errors that name the file, row and column."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_MISSING = {"", "na", "nan", "null", "none"}


class InputError(ValueError):
    """Bad input data; ``str()`` reads ``file: row R, column 'C': message`` (row = line in the file)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path, self.row, self.column, self.reason = path, row, column, message
        where = [str(path)] if path is not None else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


def _line(position: int) -> int:
    return position + 2  # line 1 is the header


def _to_numeric(raw: pd.Series, path: Path, column: str, *, strict: bool) -> pd.Series | None:
    text = raw.str.strip()
    missing = text.str.lower().isin(_MISSING)
    num = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = num.isna() & ~missing
    if bad.any():
        if not strict and bad.sum() * 2 > (~missing).sum():
            return None  # a text column (labels): not a numeric series
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{raw.iloc[pos]!r} is not a number", path=path, row=_line(pos), column=column)
    return num.astype(float)


def _parse_timestamps(raw: pd.Series, path: Path, column: str) -> pd.DatetimeIndex:
    text = raw.str.strip()
    try:
        ts = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except ValueError:
        ts = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if ts.isna().any():
        pos = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise InputError(
            f"{raw.iloc[pos]!r} is not a timestamp (ISO 8601 expected)",
            path=path,
            row=_line(pos),
            column=column,
        )
    index = pd.DatetimeIndex(ts, name=column)
    dup = index.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise InputError(f"duplicate timestamp {raw.iloc[pos]!r}", path=path, row=_line(pos), column=column)
    return index


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    timestamp: str | None = "timestamp",
    min_rows: int = 2,
) -> pd.DataFrame:
    """Read a CSV into float columns indexed by time (sorted); empty cells become NaN (gaps).

    ``required`` columns must exist and be numeric; another column is dropped when most of its cells are
    text (a label column), and otherwise every non-numeric cell is an error. With ``timestamp=None`` the
    table keeps a plain row index.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV table ({exc})", path=path) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    need = ([timestamp] if timestamp else []) + list(required)
    for col in need:
        if col not in raw.columns:
            raise InputError(f"missing column (found: {', '.join(raw.columns)})", path=path, column=col)
    if len(raw) < min_rows:
        raise InputError(f"too few rows: {len(raw)}, at least {min_rows} are needed", path=path)
    data: dict[str, pd.Series] = {}
    for col in raw.columns:
        if col == timestamp:
            continue
        num = _to_numeric(raw[col], path, col, strict=col in required)
        if num is not None:
            data[col] = num
    table = pd.DataFrame(data)
    if timestamp:
        table.index = _parse_timestamps(raw[timestamp], path, timestamp)
        table = table.sort_index()
    return table


def jsonable(obj: Any) -> Any:
    """Replace NaN/inf by ``None`` and numpy scalars by Python ones, recursively."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    Path(path).write_text(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")
