"""Activity quantities with units as people write them, parsed and converted with pint.

``"1000 m3"``, ``"thousand m3"``, ``"тыс. м3"``, ``"млн м3"``, ``"t"``, ``"tonne"``, ``"т"``, ``"kt"``, ``"TJ"``,
``"ТДж"``, ``"GJ"``, ``"Gcal"``, ``"Гкал"``, ``"t c.e."`` / ``"т у.т."`` ... are all pint expressions once a few
Russian unit names are defined in the registry and three spellings pint reads differently are rewritten:

- ``m3`` / ``м3`` / ``m³`` → ``m**3`` (pint would read ``m3`` as an unknown unit);
- ``kt`` → kilotonne (pint's ``kt`` is the knot);
- ``Gcal`` → gigacalorie of the International Table (4.1868 J/cal, the calorie of Russian heat accounting,
  GOST 8.417-2002 [M]); pint's plain ``cal`` is the thermochemical 4.184 J.

A tonne of coal equivalent is 7,000 kcal(IT) = 29.3076 GJ (the "условное топливо" unit; Order 371 Table 1.1
uses 0.029308 TJ per t c.e. as encoded by a third party [?], docs/sources.md).
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any, Literal

Kind = Literal["mass", "volume", "energy"]

TJ_PER_TCE = 0.0293076
"""TJ per tonne of coal equivalent: 7,000 kcal(IT)/kg × 4.1868 kJ/kcal (Order 371 Table 1.1 k-to-NCV ratio
0.029308 [?], docs/sources.md)."""

ACCEPTED = (
    "t, tonne, т, kt, кт, тыс. т; m3, м3, 1000 m3, thousand m3, тыс. м3, million m3, млн м3; "
    "TJ, ТДж, GJ, ГДж, MWh, Gcal, Гкал, t c.e. (т у.т.)"
)

_DIMENSION: dict[Kind, str] = {"mass": "[mass]", "volume": "[volume]", "energy": "[energy]"}
_lock = threading.Lock()

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # tonne of coal equivalent: "t c.e.", "tce", "т у.т.", "т.у.т.", "тут"
    (re.compile(r"(?<![\w])(?:t\s*c\.?\s*e\.?|т\.?\s*у\.?\s*т\.?|тут)(?![\w])", re.IGNORECASE), " tce "),
    (re.compile(r"([mм])(?:3|³)(?![\w])"), "m**3"),
    (re.compile(r"(?<![\w])(?:kt|кт)(?![\w])"), "kilotonne"),
    (re.compile(r"(?<![\w])Gcal(?![\w])"), "Гкал"),
    (re.compile(r"(?<![\w])Mcal(?![\w])"), "Мкал"),
    (re.compile(r"(?<=[^\W\d])\.(?=\s|$|[^\W\d])"), " "),  # "тыс." → "тыс", "тыс.м3" → "тыс m3"
    (re.compile(r"_"), " "),
)

_DEFINITIONS = (
    "thousand = 1e3 = тыс",
    "million = 1e6 = млн",
    "тонна = tonne = т",
    "кг = kilogram",
    "ТДж = terajoule",
    "ГДж = gigajoule",
    "МДж = megajoule",
    "Гкал = 1e9 * international_calorie",
    "Мкал = 1e6 * international_calorie",
    "tce = 29.3076 * gigajoule",
)


class QuantityError(ValueError):
    """The unit is unknown or of the wrong kind; the message names the accepted forms."""


@cache
def _registry() -> Any:
    import pint

    ureg: Any = pint.UnitRegistry()
    for line in _DEFINITIONS:
        ureg.define(line)
    return ureg


def normalise(unit: str) -> str:
    text = unit.strip()
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def _parse(unit: str) -> Any:
    """The unit as a pint Quantity (``"1000 m3"`` → 1000 m³), or QuantityError."""
    text = normalise(unit)
    if not text:
        raise QuantityError(f"empty unit; accepted: {ACCEPTED}")
    with _lock:  # pint's caches are not thread-safe on first use
        ureg = _registry()
        try:
            q = ureg.parse_expression(text)
        except Exception as exc:  # pint raises several unrelated types for bad input
            raise QuantityError(f"unknown unit {unit!r}; accepted: {ACCEPTED}") from exc
        if not isinstance(q, ureg.Quantity):
            raise QuantityError(f"unknown unit {unit!r}; accepted: {ACCEPTED}")
        return q


def kind_of(unit: str) -> Kind:
    """Mass, volume or energy; QuantityError for anything else (including unknown units)."""
    q = _parse(unit)
    with _lock:
        for kind, dim in _DIMENSION.items():
            if q.check(dim):
                return kind
    raise QuantityError(f"unit {unit!r} is not a mass, volume or energy; accepted: {ACCEPTED}")


def check_unit(unit: str, kinds: tuple[Kind, ...] = ("mass", "volume", "energy")) -> str:
    """Validate ``unit`` (pydantic validators call this); returns it unchanged."""
    kind = kind_of(unit)
    if kind not in kinds:
        raise QuantityError(f"unit {unit!r} is a {kind}; expected a {' or '.join(kinds)} unit")
    return unit


def convert(value: float, unit: str, target: str) -> float:
    """``value`` in ``unit`` expressed in ``target`` (both as accepted here, e.g. ``"тыс. м3"`` → ``"m3"``)."""
    q, t = _parse(unit), _parse(target)
    with _lock:
        try:
            return float((value * q).to(t.units).magnitude / t.magnitude)
        except Exception as exc:
            raise QuantityError(f"cannot convert {unit!r} to {target!r}") from exc


def check_energy_unit(unit: str) -> str:
    """An energy (MWh, Gcal, GJ ...)."""
    return check_unit(unit, ("energy",))


def check_gas_unit(unit: str) -> str:
    """A mass or a volume of gas."""
    return check_unit(unit, ("mass", "volume"))


def is_tce(unit: str) -> bool:
    """True when the unit is (a multiple of) tonnes of coal equivalent, e.g. ``"т у.т."`` or ``"тыс. т у.т."``."""
    return "tce" in normalise(unit).split()
