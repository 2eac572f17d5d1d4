"""Emission forecast of an organisation: monthly and annual totals ahead, with intervals, and the year it would
cross the 296-FZ threshold if trends hold (issue 13 item 8; docs/inventory.md "Emission forecast").

1. **History**: each of the last ``history_months`` complete months is assembled and calculated as an inventory
   run of that month would be (activity data pro-rated, measured methane integrated from the stored rollups with
   the same coverage policy, stored data wired as in ``inventory.stored``). The series is the 296-FZ basis: Scope 1,
   t CO2e with the GWPs of Government Order 2979-r (``fz296.FZ296_GWP``, METHODOLOGY §2.1 [V: S7]).
2. **Trend**: ``method="trend"`` fits a straight line by least squares to the monthly series and gives the
   classical prediction interval ``ŷ ± t(1-α/2, n-2) · s · sqrt(1 + 1/n + (x - x̄)² / Sxx)`` (ordinary least
   squares, e.g. NIST/SEMATECH e-Handbook of Statistical Methods §4.5.2.2 [M]); ``"linear"`` and ``"gbdt"`` use the
   analytics forecasters (lags, trend, seasonal terms; conformal intervals, ``analytics.forecast``).
3. **Production plans**: activity data with future periods are the plan (no separate entity: the same rows,
   import and API; a run never counts them, ``coverage.counted_period``). A future month with planned activity
   data takes the plan's calculated total instead of the trend; a facility whose methane was measured in the
   history has its planned mining rows scaled by its measured intensity (t CH4 per t of coal over the history,
   Tier 3 × planned production), so the plan follows the measured methane rather than a default factor. The plan
   month keeps the trend's interval half-width (the scatter of monthly totals about their expected value).
4. **Annual totals**: actual months plus forecast months of each calendar year; bounds are the sums of the
   monthly bounds (conservative: the monthly errors taken as fully correlated).
5. **Threshold**: the first year whose annual total reaches the 296-FZ threshold in force for it (``fz296``);
   ``earliest_year`` uses the upper bounds, ``latest_year`` the lower bounds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from ghgwatch.inventory import runs
from ghgwatch.inventory.coverage import DEFAULT_MIN_COVERAGE
from ghgwatch.inventory.fz296 import FZ296_GWP, check_296fz
from ghgwatch.inventory.measured import GapPolicy
from ghgwatch.inventory.methodology import get_methodology, resolver_for
from ghgwatch.inventory.schemas import RunIn
from ghgwatch.kit.problems import Problem, not_found
from ghgwatch.registry.models import Organization
from ghgwatch.security.principal import Principal

Method = Literal["trend", "linear", "gbdt"]
MIN_HISTORY = 6


def month_start(d: datetime, shift: int = 0) -> datetime:
    k = d.year * 12 + d.month - 1 + shift
    return datetime(k // 12, k % 12 + 1, 1, tzinfo=UTC)


def trend_forecast(values: np.ndarray, horizon: int, level: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(point, half-width) for the ``horizon`` steps after ``values`` by an OLS line with its prediction interval."""
    from scipy import stats

    n = len(values)
    x = np.arange(n, dtype=float)
    xm, ym = x.mean(), float(values.mean())
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (values - ym)).sum() / sxx)
    intercept = ym - slope * xm
    resid = values - (intercept + slope * x)
    s = math.sqrt(float((resid ** 2).sum()) / (n - 2))
    q = float(stats.t.ppf(0.5 + level / 2, n - 2))
    xf = np.arange(n, n + horizon, dtype=float)
    half = q * s * np.sqrt(1 + 1 / n + (xf - xm) ** 2 / sxx)
    return intercept + slope * xf, half, {"intercept_t_co2e": intercept, "slope_t_co2e_per_month": slope,
                                          "residual_sd_t_co2e": s, "t_quantile": q, "n": n}


def model_forecast(values: np.ndarray, first: datetime, horizon: int, level: float,
                   method: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    import pandas as pd

    from ghgwatch.analytics.forecast import make_forecaster

    index = pd.date_range(first.replace(tzinfo=None), periods=len(values), freq="MS")
    try:
        model = make_forecaster(method, interval=level, max_horizon=min(horizon, 24)).fit(pd.Series(values, index))
        frame = model.predict(horizon)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise Problem(422, "Validation failed", f"method {method!r}: {exc}; use method 'trend' or a longer "
                      "history_months", type_="validation",
                      errors=[{"loc": ["query", "history_months"], "msg": str(exc)}]) from exc
    point = frame["forecast"].to_numpy(dtype=float)
    return point, (frame["upper"].to_numpy(dtype=float) - point), {"n": len(values)}


async def _month_run(session: Any, actor: Principal, org: Organization, base: dict[str, Any], start: datetime,
                     plan: bool, intensity: dict[int, dict[str, Any]] | None = None) -> tuple[Any, runs.Assembled]:
    body = RunIn(organization_id=org.id, period_start=start, period_end=month_start(start, 1), **base)
    a = await runs.assemble(session, actor, org, body, plan=plan)
    if intensity:
        rho = resolver_for(get_methodology(body.methodology), [], a.year).get(
            f"density.ch4.{get_methodology(body.methodology).default_gas_reference}").value
        for act in a.doc["activities"]:
            info = intensity.get(a.facility_of.get(act["id"], -1))
            if act["type"] == runs.TIER1_MINING and info is not None:
                # t CH4 per t of coal → m3/t at the methodology's density, so the engine gives the same tonnes.
                act["ef_m3_per_t"] = info["ch4_t_per_t"] * 1000.0 / rho
                act["ef_source"] = (f"measured intensity of facility {info['facility_id']}: "
                                    f"{info['ch4_t_per_t']:.6g} t CH4 per t of coal over {info['months']} months of "
                                    "telemetry (Tier 3) × planned production")
    result = await runs.run_calculation({**a.doc, "gwp": FZ296_GWP}, a.stored_sets)
    return result, a


def _intensity(history: list[tuple[Any, runs.Assembled]]) -> dict[int, dict[str, Any]]:
    """Measured mining CH4 per tonne of coal of each facility measured in the history (months with both)."""
    ch4: dict[int, float] = {}
    coal: dict[int, float] = {}
    months: dict[int, int] = {}
    for result, a in history:
        fac_ch4: dict[int, float] = {}
        for r in result.activities:
            if r.type == runs.MEASURED and r.id in a.facility_of:
                f = a.facility_of[r.id]
                fac_ch4[f] = fac_ch4.get(f, 0.0) + r.ch4_t
        for f, value in fac_ch4.items():
            produced = sum(float(x["coal_t"]) * float(x.get("period_share", 1.0)) for x in a.tier1
                           if a.facility_of[x["id"]] == f)
            if produced > 0:
                ch4[f], coal[f] = ch4.get(f, 0.0) + value, coal.get(f, 0.0) + produced
                months[f] = months.get(f, 0) + 1
    return {f: {"facility_id": f, "ch4_t_per_t": ch4[f] / coal[f], "ch4_t": ch4[f], "coal_t": coal[f],
                "months": months[f]} for f in ch4}


def _annual(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    years: dict[int, dict[str, Any]] = {}
    for r in rows:
        y = years.setdefault(int(r["month"][:4]), {"year": int(r["month"][:4]), "actual_months": 0,
                                                   "forecast_months": 0, "co2e_t": 0.0, "lower_t": 0.0,
                                                   "upper_t": 0.0})
        y["actual_months" if r["kind"] == "actual" else "forecast_months"] += 1
        y["co2e_t"] += r["co2e_t"]
        y["lower_t"] += r.get("lower_t", r["co2e_t"])
        y["upper_t"] += r.get("upper_t", r["co2e_t"])
    out = []
    for y in sorted(years.values(), key=lambda v: v["year"]):
        fz = check_296fz(y["co2e_t"], y["year"])
        in_force = any(t["in_force_for_year"] for t in fz.thresholds)
        y |= {"complete": y["actual_months"] + y["forecast_months"] == 12, "threshold_t_co2e": fz.threshold_t_co2e,
              "article": fz.article, "threshold_in_force": in_force,
              "reaches": in_force and y["co2e_t"] >= fz.threshold_t_co2e,
              "upper_reaches": in_force and y["upper_t"] >= fz.threshold_t_co2e,
              "lower_reaches": in_force and y["lower_t"] >= fz.threshold_t_co2e}
        out.append(y)
    return out


def _crossing(annual: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    full = [y for y in annual if y["complete"]]
    past = [y for y in full if y["forecast_months"] == 0]
    ahead = [y for y in full if y["forecast_months"] > 0]

    def first(key: str) -> int | None:
        return next((y["year"] for y in ahead if y[key]), None)

    if past and past[-1]["reaches"]:
        status, year = "already_above", past[-1]["year"]
    else:
        year = first("reaches")
        status = "crosses" if year is not None else "not_within_horizon"
    return {"status": status, "year": year, "earliest_year": first("upper_reaches") or year,
            "latest_year": first("lower_reaches"), "as_of": now.date().isoformat(),
            "threshold_t_co2e": (full[-1] if full else annual[-1])["threshold_t_co2e"] if annual else None,
            "basis": "296-FZ Art. 14: Scope 1 t CO2e with the GWPs of Government Order 2979-r"}


async def forecast(session: Any, actor: Principal, organization_id: int, *, history_months: int = 24,
                   horizon_months: int = 60, method: Method = "trend", interval: float = 0.9,
                   methodology: Literal["ipcc2006", "ru371"] = "ipcc2006", include_measured: bool = True,
                   coal_mining_tier: Literal["tier1", "tier2"] = "tier1", gap_policy: GapPolicy = "mean",
                   min_coverage: float = DEFAULT_MIN_COVERAGE, now: datetime | None = None) -> dict[str, Any]:
    """The organisation's monthly and annual emission forecast (module doc); ``now`` for tests."""
    actor.require_org(organization_id)
    org = await session.get(Organization, organization_id)
    if org is None:
        raise not_found("organisation", organization_id)
    if history_months < MIN_HISTORY:
        raise Problem(422, "Validation failed", "history_months: at least {n} months are needed",
                      values={"n": MIN_HISTORY}, type_="validation",
                      errors=[{"loc": ["query", "history_months"], "msg": "too short"}])
    now = now or datetime.now(UTC)
    this_month = month_start(now)
    first = month_start(now, -history_months)
    base: dict[str, Any] = {"methodology": methodology, "include_measured": include_measured,
                            "coal_mining_tier": coal_mining_tier, "gap_policy": gap_policy,
                            "min_coverage": min_coverage}
    history = [await _month_run(session, actor, org, base, month_start(first, k), plan=False)
               for k in range(history_months)]
    values = np.array([r.fz296.total_t_co2e for r, _ in history], dtype=float)
    if method == "trend":
        point, half, model = trend_forecast(values, horizon_months, interval)
    else:
        point, half, model = model_forecast(values, first, horizon_months, interval, method)
    intensity = _intensity(history)
    rows: list[dict[str, Any]] = [
        {"month": month_start(first, k).strftime("%Y-%m"), "kind": "actual", "co2e_t": float(values[k]),
         "activities": len(a.doc["activities"]), "measured_facilities": len(a.measurements)}
        for k, (_, a) in enumerate(history)]
    for h in range(horizon_months):
        start = month_start(this_month, h)
        row: dict[str, Any] = {"month": start.strftime("%Y-%m"), "kind": "forecast", "basis": "trend",
                               "co2e_t": max(0.0, float(point[h]))}
        # The current month is forecast as a whole too (its data are incomplete); its activity data, if any, are
        # taken as its plan.
        plan_result, plan = await _month_run(session, actor, org, base, start, plan=True, intensity=intensity)
        if plan.doc["activities"]:
            row |= {"basis": "plan", "co2e_t": plan_result.fz296.total_t_co2e, "trend_co2e_t": float(point[h]),
                    "plan_activities": len(plan.doc["activities"])}
        row |= {"lower_t": max(0.0, row["co2e_t"] - float(half[h])), "upper_t": row["co2e_t"] + float(half[h])}
        rows.append(row)
    annual = _annual(rows)
    return {"organization_id": org.id, "organization": org.name, "as_of": now.isoformat(),
            "basis": "Scope 1, t CO2e, GWP ru2979r (296-FZ)", "methodology": methodology, "method": method,
            "interval": interval, "model": model, "history_months": history_months,
            "horizon_months": horizon_months, "measured_intensity": list(intensity.values()),
            "monthly": rows, "annual": annual, "threshold_crossing": _crossing(annual, now),
            "note": None if values.any() else "no emissions in the history: no activity data or measured methane"}
