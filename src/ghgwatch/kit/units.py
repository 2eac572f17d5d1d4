"""Unit conversion with pint, reduced to an affine map ``y = scale * x + offset`` per unit pair.

Gas concentrations given as mass per volume (mg/m3, g/m3) convert to volume fractions (%, ppm) with the
gas's molar mass and the molar volume of an ideal gas at 20 °C and 101.325 kPa (24.055 L/mol), the
reference conditions the project uses for gas volumes (METHODOLOGY.md §0).
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

MOLAR_VOLUME_L_20C = 24.055
"""L/mol of an ideal gas at 293.15 K and 101.325 kPa: 8.314462618 × 293.15 / 101.325."""

MOLAR_MASS_G = {"methane": 16.043, "co2": 44.010, "n2o": 44.013}
"""g/mol (IUPAC atomic weights)."""

_VOLUME = re.compile(r"\b(m|cm|mm|dm|km)([23])\b")
_lock = threading.Lock()


class UnitError(ValueError):
    """The unit is unknown, or cannot be converted to the sensor's unit."""


@cache
def _registry() -> Any:
    import pint

    return pint.UnitRegistry()


def normalise(unit: str) -> str:
    """Spelling that pint understands: ``m3/min`` → ``m**3/min``, ``°C`` stays."""
    return _VOLUME.sub(r"\1**\2", unit.strip())


def _is_mass_concentration(u: Any) -> bool:
    return bool(u.dimensionality == _registry().parse_units("mg/m**3").dimensionality)


@cache
def affine(source: str, target: str, gas: str | None = None) -> tuple[float, float]:
    """``(scale, offset)`` such that ``value_in_target = scale * value_in_source + offset``."""
    if source == target:
        return 1.0, 0.0
    with _lock:  # pint's registry caches are not thread-safe on first use
        ureg = _registry()
        try:
            src, dst = ureg.parse_units(normalise(source)), ureg.parse_units(normalise(target))
        except Exception as exc:  # pint raises several unrelated types for bad input
            raise UnitError(f"unknown unit {source!r} or {target!r}") from exc
        try:
            zero = ureg.Quantity(0.0, src).to(dst).magnitude
            one = ureg.Quantity(1.0, src).to(dst).magnitude
            return float(one - zero), float(zero)
        except Exception as exc:
            if gas in MOLAR_MASS_G and (_is_mass_concentration(src) != _is_mass_concentration(dst)):
                return _gas_affine(ureg, src, dst, MOLAR_MASS_G[gas])
            raise UnitError(f"cannot convert {source!r} to {target!r}") from exc


def _gas_affine(ureg: Any, src: Any, dst: Any, molar_mass: float) -> tuple[float, float]:
    # 1 mg/m3 of a gas = MOLAR_VOLUME / M ppm (by volume).
    ppm_per_mg_m3 = MOLAR_VOLUME_L_20C / molar_mass
    if _is_mass_concentration(src):
        to_mg = ureg.Quantity(1.0, src).to("mg/m**3").magnitude
        to_dst = ureg.Quantity(1.0, "ppm").to(dst).magnitude
        return float(to_mg * ppm_per_mg_m3 * to_dst), 0.0
    to_ppm = ureg.Quantity(1.0, src).to("ppm").magnitude
    to_dst = ureg.Quantity(1.0, "mg/m**3").to(dst).magnitude
    return float(to_ppm / ppm_per_mg_m3 * to_dst), 0.0


def check(unit: str) -> None:
    """Raise :class:`UnitError` if pint does not know ``unit``."""
    try:
        _registry().parse_units(normalise(unit))
    except Exception as exc:
        raise UnitError(f"unknown unit {unit!r}") from exc
