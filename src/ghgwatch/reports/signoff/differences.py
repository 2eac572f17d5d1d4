"""Differences between two inventory results (a restatement against the version it replaces).

Three groups, each row ``{key, old, new, difference, difference_pct}``:

* ``gas``: the direct (Scope 1) totals in tonnes of CO2, CH4 and N2O, their total in t CO2e in the report's GWP
  set, the 296-FZ total (t CO2e with the GWPs of order 2979-r) and the Scope 2 total (t CO2e);
* ``facility``: t CO2e of the direct emissions per facility;
* ``source``: t CO2e of the direct emissions per source category (the IPCC category code of each activity).

Keys present in only one result count as 0 in the other. ``difference_pct`` is relative to the old value
(``None`` when it is 0).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

GASES = (("CO2, t", "co2_t"), ("CH4, t", "ch4_t"), ("N2O, t", "n2o_t"), ("CO2e, t", "co2e_t"))
NO_FACILITY = "(no facility)"


def _scope1(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in result.get("activities", []) if a.get("scope", 1) == 1]


def _gases(result: dict[str, Any]) -> dict[str, float]:
    totals = result.get("totals", {})
    out = {label: float(totals.get(key, 0.0)) for label, key in GASES}
    out["296-FZ CO2e (2979-r), t"] = float(result.get("fz296", {}).get("total_co2e_t", 0.0))
    out["Scope 2 CO2e, t"] = float(result.get("scope2_totals", {}).get("co2e_t", 0.0))
    return out


def _by(result: dict[str, Any], field: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for a in _scope1(result):
        out[str(a.get(field) or NO_FACILITY)] += float(a["co2e_t"])
    return dict(out)


def _rows(old: dict[str, float], new: dict[str, float], ordered: bool = False) -> list[dict[str, Any]]:
    keys = list(old) + [k for k in new if k not in old] if ordered else sorted(old.keys() | new.keys())
    rows = []
    for key in keys:
        a, b = old.get(key, 0.0), new.get(key, 0.0)
        rows.append({"key": key, "old": a, "new": b, "difference": b - a,
                     "difference_pct": (b - a) / a * 100.0 if a else None})
    return rows


def differences(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Old against new totals by gas, facility and source category (see the module's docstring)."""
    return {
        "gas": _rows(_gases(old), _gases(new), ordered=True),
        "facility": _rows(_by(old, "facility"), _by(new, "facility")),
        "source": _rows(_by(old, "category"), _by(new, "category")),
    }
