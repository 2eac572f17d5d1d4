"""Reading an uploaded CSV or XLSX file into a header and rows, with errors reported by row number."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any


class RowErrors(ValueError):
    """``errors``: ``(row, message)`` pairs (row 0: the file as a whole; the header is row 1)."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        shown = "; ".join(f"row {r}: {m}" if r else m for r, m in errors[:10])
        super().__init__(shown + (f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""))


def read_rows(data: bytes, fmt: str, error: type[RowErrors] = RowErrors) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The lower-cased header and the data rows of ``data`` read as ``fmt`` ("csv" or "xlsx"); an unreadable or
    empty file raises ``error`` at row 0."""
    try:
        if fmt == "xlsx":
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        else:
            rows = [tuple(r) for r in csv.reader(io.StringIO(data.decode("utf-8-sig")))]
    except (UnicodeDecodeError, csv.Error, OSError, KeyError, IndexError, zipfile.BadZipFile) as exc:
        raise error([(0, f"cannot read the file as {fmt}: {exc}")]) from exc
    if not rows:
        raise error([(0, "the file is empty")])
    return [str(h).strip().lower() if h is not None else "" for h in rows[0]], rows[1:]
