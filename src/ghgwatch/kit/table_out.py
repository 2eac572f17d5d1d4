"""Writing the outputs of the file commands: the format follows the output file's extension (``.csv``,
``.json``, ``.xlsx``; any other takes the command's default), times in ISO 8601 with the input's time zone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.kit.cells import safe_row
from ghgwatch.kit.values import format_moment

FORMATS = (".csv", ".json", ".xlsx")


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


def output_format(path: str | Path, default: str) -> str:
    """``csv``, ``json`` or ``xlsx`` from the extension; ``default`` for any other (or none)."""
    suffix = Path(path).suffix.lower()
    return suffix[1:] if suffix in FORMATS else default


def _times(index: pd.Index) -> list[Any]:
    if isinstance(index, pd.DatetimeIndex):
        return [format_moment(t.to_pydatetime()) for t in index]
    return list(index)


def write_frame(
    path: str | Path, frame: pd.DataFrame, *, default: str = "csv", float_format: str = "%.6g", index: bool = True
) -> None:
    """Write a table with its index as the first column (unless ``index=False``); times in ISO 8601 with the
    file's time zone kept (``Z`` for UTC). CSV, JSON (a list of row objects) or XLSX by the extension of
    ``path``."""
    out = frame.copy()
    if index:
        out.insert(0, str(out.index.name or "timestamp"), _times(out.index))
    out = out.reset_index(drop=True)
    fmt = output_format(path, default)
    if fmt == "json":
        # The same precision as the CSV (float_format), not 17 digits of binary noise.
        records = [
            {k: float(float_format % v) if isinstance(v, float) and math.isfinite(v) else v for k, v in row.items()}
            for row in out.to_dict("records")
        ]
        write_json(path, records)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append([str(c) for c in out.columns])
        for row in out.itertuples(index=False):
            sheet.append(safe_row(jsonable(list(row))))
        book.save(path)
    else:
        out.to_csv(path, index=False, float_format=float_format)


def write_report(path: str | Path, report: dict[str, Any], rows: str) -> None:
    """A JSON report, or for ``.csv`` / ``.xlsx`` its table ``report[rows]`` (a list of row objects, or a
    mapping of name to row object) with the report's scalar fields repeated as leading columns."""
    fmt = output_format(path, "json")
    if fmt == "json":
        write_json(path, report)
        return
    table = report[rows]
    records = (
        [{"name": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in table.items()]
        if isinstance(table, dict)
        else list(table)
    )
    scalars = {k: v for k, v in report.items() if k != rows and not isinstance(v, dict | list)}
    write_frame(path, pd.DataFrame([{**scalars, **_flat(r)} for r in records]), default=fmt, index=False)


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in record.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}_"))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out
