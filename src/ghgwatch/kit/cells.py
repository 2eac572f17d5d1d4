"""Safe spreadsheet cells for exports (CSV, XLSX): user text never becomes a formula or breaks the file.

* Formula injection (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
  carriage return, which some spreadsheet programs strip before looking) is prefixed with ``'``, so that
  Excel and LibreOffice show it as text instead of evaluating ``=HYPERLINK(...)`` and the like. Numbers are
  left as numbers (a negative number is not text).
* XLSX cannot hold the control characters U+0000-U+0008, U+000B, U+000C, U+000E-U+001F (openpyxl raises
  ``IllegalCharacterError``, which failed the whole export); they are removed.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(value: str) -> str:
    value = ILLEGAL_XLSX.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def safe_cell(value: Any) -> Any:
    """The value to write into a CSV or XLSX cell: text neutralised, anything else unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(v) for v in values]
