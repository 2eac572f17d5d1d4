from __future__ import annotations

from typing import Any

import pytest

from ghgwatch.inventory import calculate
from ghgwatch.inventory.result import ActivityResult


def doc(
    *activities: dict[str, Any], methodology: str = "ipcc2006", gwp: str = "ar5", **extra: Any
) -> dict[str, Any]:
    return {"methodology": methodology, "gwp": gwp, "year": 2025, "activities": list(activities), **extra}


def one(activity: dict[str, Any], **kw: Any) -> ActivityResult:
    return calculate(doc({"id": "x", **activity}, **kw)).activities[0]


def close(actual: float, expected: float, rel: float = 1e-3) -> bool:
    """Within 0.1 % (the tolerance the issue asks for the worked examples)."""
    return actual == pytest.approx(expected, rel=rel)
