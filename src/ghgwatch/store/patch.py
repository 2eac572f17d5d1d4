"""Checks of a partial update (PATCH) before it is applied, so that bad input is a 422 and never a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import inspect

from ghgwatch.kit.problems import Problem


def refuse_nulls(model: type[Any], values: Mapping[str, Any]) -> None:
    """422 naming every field set to ``null`` whose column may not be empty (instead of an integrity error)."""
    columns = {c.key: c for c in inspect(model).column_attrs}
    bad = [name for name, value in values.items()
           if value is None and name in columns and not all(col.nullable for col in columns[name].columns)]
    if bad:
        raise Problem(422, "Validation failed", "{fields}: may not be null", values={"fields": ", ".join(bad)},
                      type_="validation",
                      errors=[{"loc": ["body", name], "msg": "may not be null"} for name in bad])


def check_range(row: Any, low: str = "range_min", high: str = "range_max") -> None:
    """422 unless ``row.<low> < row.<high>`` (either may be empty), checked on the stored row after a PATCH."""
    lo, hi = getattr(row, low, None), getattr(row, high, None)
    if lo is not None and hi is not None and lo >= hi:
        raise Problem(422, "Validation failed", "{low} ({lo}) must be below {high} ({hi}) after this change",
                      values={"low": low, "lo": f"{lo:g}", "high": high, "hi": f"{hi:g}"}, type_="validation",
                      errors=[{"loc": ["body", low], "msg": f"must be below {high}"}])
