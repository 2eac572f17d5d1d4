"""Numbers and times as real files write them: decimal commas, Russian dates, time zones, Unix seconds."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "—"})
# Thousands separators that real exports put inside numbers: space, no-break space, narrow no-break space
# (what Excel and LibreOffice write for "1 234,5" in a Russian locale), apostrophe (Swiss).
_THOUSANDS = str.maketrans("", "", " \u00a0\u202f'")
# DD.MM.YYYY or DD.MM.YY, optionally with HH:MM[:SS[.ffffff or ,ffffff]] and an offset (Z, +03:00, +0300).
_DMY = re.compile(
    r"(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4}|\d{2})"
    r"(?:[ T,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and value.strip().lower() in MISSING
    )


def parse_number(value: Any) -> float:
    """A float from a cell: ``1.5``, ``1,5``, ``1 234,5``, ``1.234,5``, ``1,234.5``; raises ``ValueError``.

    With both separators the last one is the decimal mark; a lone comma is always a decimal comma (so
    ``"1,234"`` is 1.234, as a Russian-locale export means it)."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().translate(_THOUSANDS)
    if "," in text:
        if "." in text:
            last_is_point = text.rfind(".") > text.rfind(",")
            text = text.replace(",", "") if last_is_point else text.replace(".", "").replace(",", ".")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
    return float(text)


def _offset(text: str | None) -> Any:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    from datetime import timezone

    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_moment(value: Any) -> datetime:
    """A datetime from a cell: ISO 8601 (``Z`` or an offset kept; naive stays naive), ``DD.MM.YYYY[ HH:MM[:SS]]``
    (Russian and most European locales), or Unix seconds; raises ``ValueError``."""
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("empty")
    if text[4:5] == "-":  # ISO 8601, the common case, first
        return _iso(text)
    match = _DMY.fullmatch(text)
    if match:
        g = match.groupdict()
        year = int(g["y"]) + (2000 if len(g["y"]) == 2 else 0)
        micro = int((g["f"] or "0").ljust(6, "0"))
        return datetime(
            year, int(g["m"]), int(g["d"]), int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0), micro,
            tzinfo=_offset(g["tz"]),
        )
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return datetime.fromtimestamp(seconds, UTC)
        raise ValueError("not finite")
    return _iso(text)


def _iso(text: str) -> datetime:
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None and moment.utcoffset() == timedelta(0):
        moment = moment.replace(tzinfo=UTC)
    return moment


def format_moment(moment: datetime) -> str:
    """ISO 8601 with the offset kept (``Z`` for UTC), seconds always shown, fractions only when present."""
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
