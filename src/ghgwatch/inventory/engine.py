"""Calculation engine: validated input → per-activity CO2/CH4/N2O/CO2e with the factors used."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ghgwatch.inventory import activities as act
from ghgwatch.inventory.categories import category_of, scope_of
from ghgwatch.inventory.errors import InputErrorItem, InventoryInputError, from_validation_error
from ghgwatch.inventory.factors import (
    FactorSet,
    builtin_factor_set_names,
    factor_set_from_data,
    load_builtin_factor_set,
    load_user_factor_set,
)
from ghgwatch.inventory.fz296 import FZ296_GWP, Fz296Status, check_296fz
from ghgwatch.inventory.gwp import GwpSet, get_gwp_set, gwp_sets
from ghgwatch.inventory.handlers import ActivityError, Ctx, dispatch
from ghgwatch.inventory.methodology import (
    METHODOLOGIES,
    FactorNotFoundError,
    UsedFactor,
    get_methodology,
    resolver_for,
)
from ghgwatch.inventory.result import ActivityResult, CalcResult

__all__ = ["CalcResult", "calculate", "canonical_sha256"]


def canonical_sha256(data: object) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no whitespace, UTF-8)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _extra_sets(
    names: list[str], base_dir: Path | None, stored: Mapping[str, object] | None = None
) -> tuple[list[FactorSet], list[object], list[InputErrorItem]]:
    sets: list[FactorSet] = []
    raw_user: list[object] = []
    errors: list[InputErrorItem] = []
    for i, name in enumerate(names):
        try:
            if name in builtin_factor_set_names():
                sets.append(load_builtin_factor_set(name))
                continue
            if stored is not None and name in stored:
                raw_user.append(stored[name])
                sets.append(factor_set_from_data(stored[name]))
                continue
            path = Path(name) if base_dir is None or Path(name).is_absolute() else base_dir / name
            raw_user.append(json.loads(path.read_text("utf-8")))
            sets.append(load_user_factor_set(path))
        except (OSError, ValueError) as exc:
            errors.append(InputErrorItem(f"cannot load factor set {name!r}: {exc}", f"factor_sets.{i}"))
    return sets, raw_user, errors


_ACTIVITY = TypeAdapter(act.Activity)


def _errors_of_valid_items(
    data: Mapping[str, Any], base_dir: Path | None, stored: Mapping[str, object] | None
) -> list[InputErrorItem]:
    """Calculation-time errors (unknown fuel, wrong unit ...) of the activities that did validate, so
    that one run reports every problem, not only the schema ones."""
    meth_name, year, raw_acts = data.get("methodology"), data.get("year"), data.get("activities")
    if meth_name not in METHODOLOGIES or not isinstance(year, int) or not isinstance(raw_acts, list):
        return []
    names = data.get("factor_sets") or []
    extra = _extra_sets(names, base_dir, stored)[0] if isinstance(names, list) else []
    meth = METHODOLOGIES[meth_name]
    ctx = Ctx(resolver_for(meth, extra, year), meth, year)
    out: list[InputErrorItem] = []
    for i, raw in enumerate(raw_acts):
        try:
            a = _ACTIVITY.validate_python(raw)
            dispatch(ctx, a)
        except ValidationError:
            continue
        except ActivityError as exc:
            out.append(InputErrorItem(str(exc), exc.field, a.id, i))
        except FactorNotFoundError as exc:
            out.append(InputErrorItem(str(exc), "", a.id, i))
    return out


def calculate(
    data: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    stored_sets: Mapping[str, object] | None = None,
) -> CalcResult:
    """Validate and calculate an inventory input document; raises InventoryInputError with all errors.

    ``factor_sets`` names are resolved as built-in sets, then in ``stored_sets`` (raw set data by name,
    e.g. user sets kept in the database as ``name@version``), then as file paths relative to ``base_dir``.
    Stored and file sets are covered by ``inputs_sha256``.
    """
    try:
        inp = act.CalcInput.model_validate(data)
    except ValidationError as exc:
        items = from_validation_error(exc, data) + _errors_of_valid_items(data, base_dir, stored_sets)
        items.sort(key=lambda e: -1 if e.index is None else e.index)
        raise InventoryInputError(items) from None
    extra, raw_user, errors = _extra_sets(inp.factor_sets, base_dir, stored_sets)
    gwp_name = inp.gwp or get_methodology(inp.methodology).default_gwp
    gwp: GwpSet | None = None
    try:
        gwp = get_gwp_set(gwp_name)
    except KeyError:
        errors.append(InputErrorItem(f"unknown GWP set {gwp_name!r}; known: {', '.join(gwp_sets())}", "gwp"))
    meth = get_methodology(inp.methodology)
    ctx = Ctx(resolver_for(meth, extra, inp.year), meth, inp.year)
    results: list[ActivityResult] = []
    for i, a in enumerate(inp.activities):
        try:
            co2, ch4, n2o, used = dispatch(ctx, a)
        except ActivityError as exc:
            errors.append(InputErrorItem(str(exc), exc.field, a.id, i))
            continue
        except FactorNotFoundError as exc:
            errors.append(InputErrorItem(str(exc), "", a.id, i))
            continue
        if a.period_share != 1.0:
            co2, ch4, n2o = co2 * a.period_share, ch4 * a.period_share, n2o * a.period_share
            used.append(UsedFactor("period_share", a.period_share, "fraction",
                                   "share of the activity's period inside the calculated period"))
        results.append(ActivityResult(a.id, a.type, category_of(a.type).code, co2, ch4, n2o, 0.0, used, a.facility,
                                      scope_of(a.type)))
    if errors or gwp is None:
        raise InventoryInputError(errors)
    g_ch4, g_n2o = gwp.ch4_fossil, gwp.n2o
    for r in results:
        r.co2e_t = r.co2_t + r.ch4_t * g_ch4 + r.n2o_t * g_n2o
    digest = canonical_sha256({"input": dict(data), "user_factor_sets": raw_user} if raw_user else dict(data))
    # The 296-FZ check always uses the GWPs the law prescribes (Government Order 2979-r, METHODOLOGY §2.1
    # [V: S7]), whatever set the report uses; the result shows both totals.
    law = get_gwp_set(FZ296_GWP)
    # Direct emissions only (Scope 1): purchased energy is the supplier's direct emission.
    fz_total = sum(r.co2_t + r.ch4_t * law.ch4_fossil + r.n2o_t * law.n2o for r in results if r.scope == 1)
    fz: Fz296Status = check_296fz(fz_total, inp.year)
    return CalcResult(
        year=inp.year,
        organization=inp.organization,
        methodology=meth,
        factor_sets=[(s.name, s.version) for s in ctx.resolver.sets],
        gwp=gwp,
        activities=results,
        fz296=fz,
        inputs_sha256=digest,
    )
