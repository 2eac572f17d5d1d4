"""Per-activity-type calculations: choose factors (defaults, regional sets or user input), apply formulas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghgwatch.inventory import activities as act
from ghgwatch.inventory import formulas as fx
from ghgwatch.inventory import quantities as q
from ghgwatch.inventory.errors import ActivityError
from ghgwatch.inventory.factors import Fuel
from ghgwatch.inventory.methodology import (
    FactorNotFoundError,
    FactorResolver,
    Methodology,
    UsedFactor,
    user_factor,
)
from ghgwatch.inventory.mobile import mobile_t

__all__ = ["ActivityError", "Ctx", "dispatch"]


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


def _ef(ctx: Ctx, override: float | None, base: str, cls: str, source: str | None = None) -> UsedFactor:
    if override is not None:
        return UsedFactor(f"{base}.ef", override, "m3/t", source) if source else user_factor(f"{base}.ef", override,
                                                                                               "m3/t")
    # A class-less regional factor (Kuzbass) in a higher-priority set beats the IPCC class value.
    return ctx.resolver.get_layered(f"{base}.{cls}", base)


def _tier1(ctx: Ctx, a: Any, base: str, cls: str) -> Out:
    ef = _ef(ctx, a.ef_m3_per_t, base, cls, getattr(a, "ef_source", None))
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


def _utilisation(ctx: Ctx, a: act.MethaneUtilisation) -> Out:
    """CO2 = η × V × ρ × 2.75, unburnt CH4 = (1 − η) × V × ρ (the recovery-and-combustion form of IPCC 2006
    Vol.2 Ch.4 §4.1.3.2, METHODOLOGY §1.3 [M]); η = 1 unless given (see MethaneUtilisation)."""
    rho = ctx.density(a)
    eff = (user_factor("combustion_efficiency", a.efficiency, "fraction") if a.efficiency is not None
           else UsedFactor("combustion_efficiency", 1.0, "fraction",
                           "complete combustion assumed: no engine or boiler factor given (METHODOLOGY §6.2)"))
    ratio = ctx.resolver.get("ch4_to_co2_mass_ratio")
    co2, slip = fx.flare_t(a.ch4_m3, rho.value, eff.value, ratio.value)
    return co2, slip, 0.0, [rho, eff, ratio]


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


_NCV_DENOMINATOR = {"TJ/kt": "kt", "TJ/thousand_m3": "thousand m3", "TJ/million_m3": "million m3"}
_BASIS_KIND = {"mass": "mass", "volume": "volume"}
_NOT_IN_371 = "Order 371 formula 1.1 gives CO2 only; not calculated for this fuel [?]"


def _natural_amount(a: act.StationaryCombustion, fuel: Fuel | None, denominator: str) -> float:
    """The quantity in ``denominator`` (kt, thousand m3 ...), refusing a mass for a gas and vice versa."""
    kind = q.kind_of(a.unit)
    if fuel is not None and kind != _BASIS_KIND[fuel.basis]:
        raise ActivityError("unit", f"fuel {a.fuel!r} is measured by {fuel.basis}; unit {a.unit!r} is a {kind} "
                                    f"(use a {fuel.basis} or an energy unit; accepted: {q.ACCEPTED})")
    return q.convert(a.quantity, a.unit, denominator)


def _oxidation(ctx: Ctx, a: act.StationaryCombustion, fuel: Fuel | None) -> UsedFactor:
    if a.oxidation_factor is not None:
        return user_factor("oxidation", a.oxidation_factor, "fraction")
    if a.unburnt_heat_loss_pct is not None:
        # Order 371 formula 1.8: OF = (100 − q4)/100 [? README of the encoded tables].
        return UsedFactor("oxidation", fx.oxidation_from_q4(a.unburnt_heat_loss_pct), "fraction",
                          "Order 371 formula 1.8, OF = (100 - q4)/100, q4 from user input [?]")
    if a.carbon_in_ash_t is not None and a.carbon_in_fuel_t is not None:
        return UsedFactor("oxidation", fx.oxidation_from_carbon(a.carbon_in_ash_t, a.carbon_in_fuel_t), "fraction",
                          "Order 371 formula 1.9, OF = 1 - C_ash/C_fuel, carbon from user input [?]")
    assert fuel is not None
    return ctx.resolver.get(f"oxidation.{fuel.state}")


def _energy_route(ctx: Ctx, a: act.StationaryCombustion, fuel: Fuel | None) -> tuple[float, list[UsedFactor]]:
    """Energy in TJ (the NCV route of formula 1.1)."""
    name = f"fuel.{a.fuel}"
    if q.kind_of(a.unit) == "energy":
        return q.convert(a.quantity, a.unit, "TJ"), []
    if a.ncv_tj_per_unit is not None:
        ncv = user_factor(f"{name}.ncv", a.ncv_tj_per_unit, f"TJ/{a.unit}")
        return a.quantity * ncv.value, [ncv]
    if fuel is None:
        raise ActivityError("ncv_tj_per_unit", "required for a fuel not in the factor library")
    ncv = ctx.resolver.get(f"{name}.ncv")
    denominator = _NCV_DENOMINATOR.get(ncv.unit)
    if denominator is None:
        raise ActivityError("fuel", f"factor {ncv.name} has unit {ncv.unit!r}; expected one of "
                                    f"{', '.join(_NCV_DENOMINATOR)}")
    return _natural_amount(a, fuel, denominator) * ncv.value, [ncv]


def _tce_route(ctx: Ctx, a: act.StationaryCombustion, fuel: Fuel | None) -> tuple[float, list[UsedFactor]]:
    """Coal equivalent in t c.e. (the t c.e. route of formula 1.1)."""
    name = f"fuel.{a.fuel}"
    if q.kind_of(a.unit) == "energy":
        return q.convert(a.quantity, a.unit, "tce"), []
    if a.k_tce_per_unit is not None:
        k = user_factor(f"{name}.k_tce", a.k_tce_per_unit, f"t c.e./{a.unit}")
        return a.quantity * k.value, [k]
    if fuel is None or fuel.k_tce is None:
        raise ActivityError("k_tce_per_unit", f"fuel {a.fuel!r} has no coal-equivalent factor k (Order 371 "
                                              "Table 1.1 fuels have one); give k_tce_per_unit or use route 'ncv'")
    k = ctx.resolver.get(f"{name}.k_tce")
    per = "t" if fuel.basis == "mass" else "thousand m3"
    return _natural_amount(a, fuel, per) * k.value, [k]


def _minor_gas(ctx: Ctx, a: act.StationaryCombustion, fuel: Fuel | None, gas: str,
               override: float | None) -> UsedFactor:
    name = f"fuel.{a.fuel}.ef_{gas}"
    if override is not None:
        return user_factor(name, override, f"kg {gas.upper()}/TJ")
    if fuel is not None and not (fuel.ch4 if gas == "ch4" else fuel.n2o):
        return UsedFactor(name, 0.0, f"kg {gas.upper()}/TJ", _NOT_IN_371)
    return ctx.resolver.get(f"{name}.{a.sector}")


def _combustion(ctx: Ctx, a: act.StationaryCombustion) -> Out:
    fuel = ctx.resolver.fuel(a.fuel)
    name = f"fuel.{a.fuel}"
    ef_override = a.ef_co2_t_per_tce if a.route == "tce" else a.ef_co2_t_per_tj
    no_of = a.oxidation_factor is None and a.unburnt_heat_loss_pct is None and a.carbon_in_ash_t is None
    if fuel is None and (ef_override is None or no_of or a.ef_ch4_kg_per_tj is None or a.ef_n2o_kg_per_tj is None):
        ef_field = "ef_co2_t_per_tce" if a.route == "tce" else "ef_co2_t_per_tj"
        raise ActivityError(
            "fuel",
            f"unknown fuel {a.fuel!r}; known: {', '.join(ctx.resolver.fuel_names())} "
            f"(or give {ef_field}, oxidation_factor and, for CH4/N2O, ef_ch4_kg_per_tj, ef_n2o_kg_per_tj)",
        )
    try:
        if a.route == "tce":
            amount, factors = _tce_route(ctx, a, fuel)
            ef_co2 = (user_factor(f"{name}.ef_co2_tce", a.ef_co2_t_per_tce, "t CO2/t c.e.")
                      if a.ef_co2_t_per_tce is not None else ctx.resolver.get(f"{name}.ef_co2_tce"))
            energy = amount * q.TJ_PER_TCE
        else:
            energy, factors = _energy_route(ctx, a, fuel)
            amount = energy
            ef_co2 = (user_factor(f"{name}.ef_co2", a.ef_co2_t_per_tj, "t CO2/TJ")
                      if a.ef_co2_t_per_tj is not None else ctx.resolver.get(f"{name}.ef_co2"))
    except q.QuantityError as exc:
        raise ActivityError("unit", str(exc)) from exc
    except FactorNotFoundError as exc:
        raise ActivityError("route", f"{exc} (route {a.route!r} needs it)") from exc
    ef_ch4 = _minor_gas(ctx, a, fuel, "ch4", a.ef_ch4_kg_per_tj)
    ef_n2o = _minor_gas(ctx, a, fuel, "n2o", a.ef_n2o_kg_per_tj)
    of = _oxidation(ctx, a, fuel)
    factors += [ef_co2, of, ef_ch4, ef_n2o]
    co2 = amount * ef_co2.value * of.value
    _, ch4, n2o = fx.combustion_t(energy, 0.0, 1.0, ef_ch4.value, ef_n2o.value)
    return co2, ch4, n2o, factors


def _purchased(ctx: Ctx, a: act.PurchasedEnergy) -> Out:
    """Scope 2: CO2 = MWh × factor (GHG Protocol Scope 2 Guidance, location- or market-based)."""
    kind = "electricity" if a.type == "purchased_electricity" else "heat"
    try:
        mwh = q.convert(a.quantity, a.unit, "MWh")
    except q.QuantityError as exc:
        raise ActivityError("unit", str(exc)) from exc
    region = a.region or ""
    if a.method == "market":
        if a.contractual_ef_t_co2_per_mwh is not None:
            ef = user_factor("contractual_ef", a.contractual_ef_t_co2_per_mwh, "t CO2/MWh")
        else:
            name = f"grid.residual.{kind}.{region}"
            try:
                ef = ctx.resolver.get(name)
            except FactorNotFoundError:
                raise ActivityError("contractual_ef_t_co2_per_mwh", f"market-based {kind} needs the contractual "
                                    f"instrument's factor, or a residual-mix factor {name} in a factor set valid "
                                    f"in {ctx.year}") from None
    elif a.ef_t_co2_per_mwh is not None:
        ef = user_factor(f"grid.{kind}", a.ef_t_co2_per_mwh, "t CO2/MWh")
    else:
        if not region:
            raise ActivityError("region", f"give the region of the grid factor grid.{kind}.<region> (from a factor "
                                          "set) or ef_t_co2_per_mwh")
        name = f"grid.{kind}.{region}"
        try:
            ef = ctx.resolver.get(name)
        except FactorNotFoundError:
            raise ActivityError("region", f"no grid factor {name} valid in {ctx.year}: add a factor set with it "
                                          "(grid factors per region and year) or give ef_t_co2_per_mwh") from None
    return mwh * ef.value, 0.0, 0.0, [ef]


def _gas_flaring(ctx: Ctx, a: act.GasFlaring) -> Out:
    """E = FC × EF (Order 371 Table 2.1; FC in t or thousand m3 of gas flared)."""
    kind = q.kind_of(a.unit)
    per = "t" if kind == "mass" else "1000 m3"
    fc = q.convert(a.quantity, a.unit, per)
    suffix = "per_t" if kind == "mass" else "per_1000m3"
    base = f"flaring371.{a.gas_type}"
    per_label = "t" if kind == "mass" else "thousand m3"
    ef_co2 = (user_factor(f"{base}.ef_co2_{suffix}", a.ef_co2, f"t CO2/{per_label}") if a.ef_co2 is not None
              else ctx.resolver.get(f"{base}.ef_co2_{suffix}"))
    ef_ch4 = (user_factor(f"{base}.ef_ch4_{suffix}", a.ef_ch4, f"t CH4/{per_label}") if a.ef_ch4 is not None
              else ctx.resolver.get(f"{base}.ef_ch4_{suffix}"))
    return fc * ef_co2.value, fc * ef_ch4.value, 0.0, [ef_co2, ef_ch4]


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


def _share(ctx: Ctx, a: act.VentedGas, gas: str, given: float | None) -> UsedFactor:
    if given is not None:
        source = a.ch4_source if gas == "ch4" else a.co2_source
        return UsedFactor(f"composition.{gas}", given, "% vol", source) if source else user_factor(
            f"composition.{gas}", given, "% vol")
    if a.gas_type is not None:
        return ctx.resolver.get(f"composition.{a.gas_type}.{gas}")
    return UsedFactor(f"composition.{gas}", 0.0, "% vol", "not given (no gas_type): 0")


def _vented(ctx: Ctx, a: act.VentedGas) -> Out:
    rho_ch4 = ctx.density(a)
    rho_co2 = ctx.density(a, "co2", a.co2_density_kg_m3)
    w_ch4, w_co2 = _share(ctx, a, "ch4", a.ch4_percent), _share(ctx, a, "co2", a.co2_percent)
    ch4 = fx.vented_t(a.volume_m3, w_ch4.value, rho_ch4.value)
    co2 = fx.vented_t(a.volume_m3, w_co2.value, rho_co2.value)
    return co2, ch4, 0.0, [w_ch4, w_co2, rho_ch4, rho_co2]


def _leak(ctx: Ctx, a: act.MeasuredLeak) -> Out:
    """CH4 [t] = the measured emission's kg within the period / 1000 (``uav.leak``: rate × hours)."""
    del ctx
    return 0.0, a.ch4_kg / 1000.0, 0.0, [UsedFactor("measured_leak.ch4", a.ch4_kg, "kg CH4", a.provenance)]


def _mobile(ctx: Ctx, a: act.MobileCombustion) -> Out:
    return mobile_t(ctx.resolver, a)


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
        "methane_utilisation": _utilisation,
        "stationary_combustion": _combustion,
        "mobile_combustion": _mobile,
        "flaring": _flaring,
        "gas_flaring": _gas_flaring,
        "purchased_electricity": _purchased,
        "purchased_heat": _purchased,
        "vented_gas": _vented,
        "measured_leak": _leak,
    }
    return handlers[t](ctx, a)  # type: ignore[no-any-return, operator]
