"""Per-activity-type calculations: choose factors (defaults, regional sets or user input), apply formulas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghgwatch.inventory import activities as act
from ghgwatch.inventory import formulas as fx
from ghgwatch.inventory.methodology import (
    FactorNotFoundError,
    FactorResolver,
    Methodology,
    UsedFactor,
    user_factor,
)


class ActivityError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Ctx:
    resolver: FactorResolver
    methodology: Methodology
    year: int
    _abandoned_rows: list[int] | None = field(default=None)

    def density(self, a: act._GasVolume, gas: str = "ch4", override: float | None = None) -> UsedFactor:
        value = override if gas != "ch4" else a.density_kg_m3
        ref = a.gas_reference or self.methodology.default_gas_reference
        if value is not None:
            return user_factor(f"density.{gas}.{ref}", value, "kg/m3")
        return self.resolver.get(f"density.{gas}.{ref}")

    def abandoned_row(self) -> int:
        if self._abandoned_rows is None:
            names = {f.name for s in self.resolver.sets for f in s.factors if f.name.startswith("abandoned_ef.")}
            self._abandoned_rows = sorted({int(n.split(".")[1]) for n in names})
        rows = [r for r in self._abandoned_rows if r <= self.year]
        if not rows:
            raise ActivityError("", f"no abandoned-mine EF row for inventory year {self.year}")
        return rows[-1]


Out = tuple[float, float, float, list[UsedFactor]]


def _ef(ctx: Ctx, override: float | None, base: str, cls: str) -> UsedFactor:
    if override is not None:
        return user_factor(f"{base}.ef", override, "m3/t")
    # A class-less regional factor (Kuzbass) in a higher-priority set beats the IPCC class value.
    return ctx.resolver.get_layered(f"{base}.{cls}", base)


def _tier1(ctx: Ctx, a: Any, base: str, cls: str) -> Out:
    ef = _ef(ctx, a.ef_m3_per_t, base, cls)
    rho = ctx.density(a)
    return 0.0, fx.tier1_ch4_t(a.coal_t, ef.value, rho.value), 0.0, [ef, rho]


def _measured(ctx: Ctx, a: act.CoalMineMeasured) -> Out:
    rho = ctx.density(a)
    factors = [rho]
    co2 = 0.0
    if a.flared_ch4_m3 > 0:
        eff = (
            user_factor("flare_efficiency", a.efficiency, "fraction")
            if a.efficiency is not None
            else ctx.resolver.get("flare_efficiency")
        )
        ratio = ctx.resolver.get("ch4_to_co2_mass_ratio")
        factors += [eff, ratio]
        co2, ch4 = fx.measured_mine_t(
            a.ventilation_ch4_m3,
            a.drainage_ch4_m3,
            a.utilized_ch4_m3,
            a.flared_ch4_m3,
            rho.value,
            eff.value,
            ratio.value,
        )
    else:
        _, ch4 = fx.measured_mine_t(
            a.ventilation_ch4_m3, a.drainage_ch4_m3, a.utilized_ch4_m3, 0.0, rho.value, 1.0, 0.0
        )
    if a.coal_t is not None:
        # Post-mining cannot be measured: always Tier 1/2 factors, METHODOLOGY §1.3 [V: S2].
        ef = _ef(ctx, a.post_mining_ef_m3_per_t, "underground_post_mining", fx.depth_class(a.depth_m))
        factors.append(ef)
        ch4 += fx.tier1_ch4_t(a.coal_t, ef.value, rho.value)
    return co2, ch4, 0.0, factors


def _abandoned(ctx: Ctx, a: act.AbandonedMines) -> Out:
    rho = ctx.density(a)
    if a.tier == 1:
        assert a.mines is not None
        assert a.fraction_gassy is not None
        assert a.closure_period is not None
        fg = user_factor("abandoned.fraction_gassy", a.fraction_gassy, "fraction")
        if a.ef_m3_per_mine is not None:
            ef = user_factor("abandoned_ef", a.ef_m3_per_mine, "m3/mine/yr")
        else:
            row = ctx.abandoned_row()
            try:
                ef = ctx.resolver.get(f"abandoned_ef.{row}.{a.closure_period}")
            except FactorNotFoundError as exc:
                raise ActivityError("closure_period", str(exc)) from exc
            if row != ctx.year:
                # Only the verified rows of the IPCC table are shipped (METHODOLOGY §1.4): say which one.
                ef = UsedFactor(ef.name, ef.value, ef.unit, f"{ef.source} (row {row} used for {ctx.year})")
        m3 = fx.abandoned_tier1_m3(a.mines, fg.value, ef.value)
        return 0.0, fx.volume_to_t(m3, rho.value), 0.0, [fg, ef, rho]
    assert a.initial_emission_m3 is not None
    assert a.years_since_closure is not None
    fa = (
        user_factor("abandoned_decline.a", a.decline_a, "1/yr")
        if a.decline_a is not None
        else ctx.resolver.get(f"abandoned_decline.{a.coal_rank}.a")
    )
    fb = (
        user_factor("abandoned_decline.b", a.decline_b, "1")
        if a.decline_b is not None
        else ctx.resolver.get(f"abandoned_decline.{a.coal_rank}.b")
    )
    m3 = fx.abandoned_tier2_m3(a.initial_emission_m3, a.years_since_closure, fa.value, fb.value)
    return 0.0, fx.volume_to_t(m3, rho.value), 0.0, [fa, fb, rho]


_MASS = {"t": 1e-3, "kt": 1.0}  # → kt, to match NCV in TJ/kt (= TJ/Gg)
_VOLUME = {"m3": 1e-3, "thousand_m3": 1.0}  # → thousand m3


def _combustion(ctx: Ctx, a: act.StationaryCombustion) -> Out:
    fuel = ctx.resolver.fuel(a.fuel)
    name = f"fuel.{a.fuel}"
    if fuel is None and None in (
        a.ef_co2_t_per_tj,
        a.ef_ch4_kg_per_tj,
        a.ef_n2o_kg_per_tj,
        a.oxidation_factor,
    ):
        raise ActivityError(
            "fuel",
            f"unknown fuel {a.fuel!r}; known: {', '.join(ctx.resolver.fuel_names())} "
            "(or give ef_co2_t_per_tj, ef_ch4_kg_per_tj, ef_n2o_kg_per_tj, oxidation_factor)",
        )
    factors: list[UsedFactor] = []
    if a.unit in ("TJ", "GJ"):
        energy = a.quantity * (1e-3 if a.unit == "GJ" else 1.0)
    else:
        if fuel is not None:
            allowed = _MASS if fuel.basis == "mass" else _VOLUME
            if a.unit not in allowed:
                raise ActivityError(
                    "unit",
                    f"fuel {a.fuel!r} is measured by {fuel.basis}; unit {a.unit!r} not "
                    f"allowed (use {', '.join([*allowed, 'TJ', 'GJ'])})",
                )
        if a.ncv_tj_per_unit is not None:
            ncv = user_factor(f"{name}.ncv", a.ncv_tj_per_unit, f"TJ/{a.unit}")
            energy = a.quantity * ncv.value
        elif fuel is None:
            raise ActivityError("ncv_tj_per_unit", "required for a fuel not in the factor library")
        else:
            ncv = ctx.resolver.get(f"{name}.ncv")
            energy = a.quantity * {**_MASS, **_VOLUME}[a.unit] * ncv.value
        factors.append(ncv)
    ef_co2 = (
        user_factor(f"{name}.ef_co2", a.ef_co2_t_per_tj, "t CO2/TJ")
        if a.ef_co2_t_per_tj is not None
        else ctx.resolver.get(f"{name}.ef_co2")
    )
    ef_ch4 = (
        user_factor(f"{name}.ef_ch4", a.ef_ch4_kg_per_tj, "kg CH4/TJ")
        if a.ef_ch4_kg_per_tj is not None
        else ctx.resolver.get(f"{name}.ef_ch4.{a.sector}")
    )
    ef_n2o = (
        user_factor(f"{name}.ef_n2o", a.ef_n2o_kg_per_tj, "kg N2O/TJ")
        if a.ef_n2o_kg_per_tj is not None
        else ctx.resolver.get(f"{name}.ef_n2o.{a.sector}")
    )
    if a.oxidation_factor is not None:
        of = user_factor("oxidation", a.oxidation_factor, "fraction")
    else:
        assert fuel is not None
        of = ctx.resolver.get(f"oxidation.{fuel.state}")
    factors += [ef_co2, of, ef_ch4, ef_n2o]
    co2, ch4, n2o = fx.combustion_t(energy, ef_co2.value, of.value, ef_ch4.value, ef_n2o.value)
    return co2, ch4, n2o, factors


def _flaring(ctx: Ctx, a: act.Flaring) -> Out:
    rho = ctx.density(a)
    eff = (
        user_factor("flare_efficiency", a.efficiency, "fraction")
        if a.efficiency is not None
        else ctx.resolver.get("flare_efficiency")
    )
    ratio = ctx.resolver.get("ch4_to_co2_mass_ratio")
    co2, ch4 = fx.flare_t(a.ch4_m3, rho.value, eff.value, ratio.value)
    return co2, ch4, 0.0, [rho, eff, ratio]


def _vented(ctx: Ctx, a: act.VentedGas) -> Out:
    rho_ch4 = ctx.density(a)
    rho_co2 = ctx.density(a, "co2", a.co2_density_kg_m3)
    ch4 = fx.vented_t(a.volume_m3, a.ch4_percent, rho_ch4.value)
    co2 = fx.vented_t(a.volume_m3, a.co2_percent, rho_co2.value)
    return co2, ch4, 0.0, [rho_ch4, rho_co2]


def dispatch(ctx: Ctx, a: Any) -> Out:
    t = a.type
    if t == "coal_mining_underground":
        return _tier1(ctx, a, "underground_mining", fx.depth_class(a.depth_m))
    if t == "coal_post_mining_underground":
        return _tier1(ctx, a, "underground_post_mining", fx.depth_class(a.depth_m))
    if t == "coal_mining_surface":
        return _tier1(ctx, a, "surface_mining", fx.overburden_class(a.overburden_m))
    if t == "coal_post_mining_surface":
        return _tier1(ctx, a, "surface_post_mining", fx.overburden_class(a.overburden_m))
    handlers = {
        "coal_mine_measured": _measured,
        "abandoned_mines": _abandoned,
        "stationary_combustion": _combustion,
        "flaring": _flaring,
        "vented_gas": _vented,
    }
    return handlers[t](ctx, a)  # type: ignore[no-any-return, operator]
