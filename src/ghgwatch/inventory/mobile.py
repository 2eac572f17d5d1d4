"""Mobile combustion (road transportation, IPCC 2006 Vol.2 Ch.3 §3.2), Tier 1.

CO2 = fuel [TJ] × EF_CO2 (Eq. 3.2.1); CH4, N2O = fuel [TJ] × EF [kg/TJ] × 10⁻³ by fuel and, for motor gasoline,
vehicle technology (Eq. 3.2.3). The quantity is converted to TJ by the fuel's NCV exactly as in stationary
combustion (IPCC 2006 Vol.2 Ch.1 Table 1.2). No oxidation factor: the Table 3.2.1 defaults assume full
oxidation of the carbon [M].

The CO2 factors of Table 3.2.1 equal the stationary Table 1.4 values (motor gasoline 69,300, gas/diesel oil
74,100, natural gas 56,100, LPG 63,100 kg/TJ), so the fuels' ``fuel.<name>.ef_co2`` of the ``ipcc2006`` set are
reused and both tables are cited; LPG (not a stationary fuel of the project) has its own ``fuel.lpg.ncv`` and
``fuel.lpg.ef_co2`` factors. CH4 and N2O come from Table 3.2.2 (``mobile.road.*``), recalled [M]
(docs/sources.md).
"""

from __future__ import annotations

from ghgwatch.inventory import activities as act
from ghgwatch.inventory import quantities as q
from ghgwatch.inventory.errors import ActivityError
from ghgwatch.inventory.methodology import FactorNotFoundError, FactorResolver, UsedFactor, user_factor

FUEL_BASIS: dict[str, q.Kind] = {"motor_gasoline": "mass", "diesel": "mass", "lpg": "mass", "natural_gas": "volume"}
"""How each fuel's NCV is expressed (per kt, or per thousand m3 of gas at 20 °C for natural gas)."""
_NCV_DENOMINATOR = {"TJ/kt": "kt", "TJ/thousand_m3": "thousand m3", "TJ/million_m3": "million m3"}
_TABLE_321 = "equals IPCC 2006 GL Vol.2 Ch.3 Table 3.2.1 (road transport CO2 default) [M]"


def factor_prefix(a: act.MobileCombustion) -> str:
    """``mobile.road.<fuel>`` or ``mobile.road.motor_gasoline.<vehicle>`` (the rows of Table 3.2.2)."""
    base = f"mobile.{a.mode}.{a.fuel}"
    return f"{base}.{a.vehicle}" if a.vehicle is not None else base


def _energy_tj(resolver: FactorResolver, a: act.MobileCombustion) -> tuple[float, list[UsedFactor]]:
    kind = q.kind_of(a.unit)
    if kind == "energy":
        return q.convert(a.quantity, a.unit, "TJ"), []
    if a.ncv_tj_per_unit is not None:
        ncv = user_factor(f"fuel.{a.fuel}.ncv", a.ncv_tj_per_unit, f"TJ/{a.unit}")
        return a.quantity * ncv.value, [ncv]
    basis = FUEL_BASIS[a.fuel]
    if kind != basis:
        raise ActivityError("unit", f"fuel {a.fuel!r} is measured by {basis}; unit {a.unit!r} is a {kind} (use a "
                                    f"{basis} or an energy unit, or give ncv_tj_per_unit; accepted: {q.ACCEPTED})")
    ncv = resolver.get(f"fuel.{a.fuel}.ncv")
    denominator = _NCV_DENOMINATOR.get(ncv.unit)
    if denominator is None:
        raise ActivityError("fuel", f"factor {ncv.name} has unit {ncv.unit!r}; expected one of "
                                    f"{', '.join(_NCV_DENOMINATOR)}")
    return q.convert(a.quantity, a.unit, denominator) * ncv.value, [ncv]


def _co2_factor(resolver: FactorResolver, a: act.MobileCombustion) -> UsedFactor:
    name = f"fuel.{a.fuel}.ef_co2"
    if a.ef_co2_t_per_tj is not None:
        return user_factor(name, a.ef_co2_t_per_tj, "t CO2/TJ")
    f = resolver.get(name)
    return UsedFactor(f.name, f.value, f.unit, f"{f.source}; {_TABLE_321}")


def _minor(resolver: FactorResolver, a: act.MobileCombustion, gas: str, override: float | None) -> UsedFactor:
    name = f"{factor_prefix(a)}.ef_{gas}"
    if override is not None:
        return user_factor(name, override, f"kg {gas.upper()}/TJ")
    return resolver.get(name)


def mobile_t(resolver: FactorResolver, a: act.MobileCombustion) -> tuple[float, float, float, list[UsedFactor]]:
    """(CO2, CH4, N2O) in t and the factors applied."""
    try:
        energy, factors = _energy_tj(resolver, a)
        ef_co2 = _co2_factor(resolver, a)
        ef_ch4 = _minor(resolver, a, "ch4", a.ef_ch4_kg_per_tj)
        ef_n2o = _minor(resolver, a, "n2o", a.ef_n2o_kg_per_tj)
    except q.QuantityError as exc:
        raise ActivityError("unit", str(exc)) from exc
    except FactorNotFoundError as exc:
        raise ActivityError("fuel", str(exc)) from exc
    factors += [ef_co2, ef_ch4, ef_n2o]
    return (energy * ef_co2.value, energy * ef_ch4.value / 1000.0, energy * ef_n2o.value / 1000.0, factors)
