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


def sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or a tab: whichever the first non-blank line (the header) holds most of. Spreadsheet
    programs in locales with a decimal comma (Russian among them) save CSV with ``;``."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def decode_text(data: bytes, fallback: str | None = None) -> str:
    """UTF-8 (a byte-order mark dropped); if that fails and ``fallback`` is given, that encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if fallback is None:
            raise
        return data.decode(fallback)


def read_rows(
    data: bytes,
    fmt: str,
    error: type[RowErrors] = RowErrors,
    *,
    fallback_encoding: str | None = None,
    lower: bool = True,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The header (stripped and, unless ``lower=False``, lower-cased) and the data rows of ``data`` read as
    ``fmt`` ("csv" or "xlsx"); an unreadable or empty file raises ``error`` at row 0.

    CSV: UTF-8 with or without a byte-order mark (else ``fallback_encoding`` when given), the delimiter
    found by :func:`sniff_delimiter`. Blank lines stay in the rows as empty tuples, so a data row's number
    in the file is its position + 2 (the header is row 1)."""
    try:
        if fmt == "xlsx":
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        else:
            text = decode_text(data, fallback_encoding)
            rows = [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))]
    except (UnicodeDecodeError, csv.Error, OSError, KeyError, IndexError, zipfile.BadZipFile) as exc:
        raise error([(0, f"cannot read the file as {fmt}: {exc}")]) from exc
    if not rows:
        raise error([(0, "the file is empty")])
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    return [h.lower() for h in header] if lower else header, rows[1:]
