"""Methodologies (named, versioned sets of formulas and default factors) and factor resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ghgwatch.inventory.factors import FactorSet, Fuel, load_builtin_factor_set

USER_INPUT = "user input"


@dataclass(frozen=True, slots=True)
class Methodology:
    name: str
    version: str
    title: str
    # Factor sets, lowest priority first: later sets override factors of the same name.
    base_sets: tuple[str, ...]
    default_gas_reference: Literal["0C", "20C"]
    default_gwp: str
    notes: str


METHODOLOGIES: dict[str, Methodology] = {
    "ipcc2006": Methodology(
        name="ipcc2006",
        version="2006.1",
        title="IPCC 2006 Guidelines, Vol.2 Ch.1-2 (stationary combustion), Ch.3 (road transport) and Ch.4 "
        "(coal mining)",
        base_sets=("ipcc2006",),
        # IPCC converts m3 → mass at 20 °C, 1 atm (0.67 kg/m3), METHODOLOGY §0 [V: S2].
        default_gas_reference="20C",
        default_gwp="ar5",
        notes="Tier 1 factors by depth / overburden class; Tier 3 from measured ventilation and drainage.",
    ),
    "ru371": Methodology(
        name="ru371",
        version="2022.2",
        title="Minprirody Order No. 371 of 27.05.2022 (formulas 1.1, 1.8, 1.9, 3.1; Tables 1.1, 1.2, 2.1, 3.1 as "
        "encoded by a third party [?], docs/sources.md), IPCC 2006 defaults for the rest",
        base_sets=("ipcc2006", "ru371"),
        # Russian gas accounting uses 20 °C, 101.325 kPa (GOST 2939-63 [M]); a third-party Order 371
        # implementation states Table 1.2 densities are at 20 °C, METHODOLOGY §0 [V: S21].
        default_gas_reference="20C",
        # 296-FZ reporting uses the GWPs of Government Order 2979-r (AR4 values), METHODOLOGY §2.1 [V: S7].
        default_gwp="ru2979r",
        notes="Oxidation factors 0.98/0.99/0.995 and all Order 371 coefficients are unverified [?].",
    ),
}


def get_methodology(name: str) -> Methodology:
    if name not in METHODOLOGIES:
        raise KeyError(f"unknown methodology {name!r}; known: {', '.join(METHODOLOGIES)}")
    return METHODOLOGIES[name]


class FactorNotFoundError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class UsedFactor:
    """A factor as applied to one activity: what the output lists under ``factors``."""

    name: str
    value: float
    unit: str
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


def user_factor(name: str, value: float, unit: str) -> UsedFactor:
    return UsedFactor(name, value, unit, USER_INPUT)


@dataclass
class FactorResolver:
    """Finds the factor valid in ``year`` in the highest-priority set that has it (cached per name)."""

    sets: list[FactorSet]
    year: int
    _cache: dict[str, tuple[int, UsedFactor] | None] = field(default_factory=dict)

    def _find(self, name: str) -> tuple[int, UsedFactor] | None:
        """(priority, factor) of the highest-priority set holding ``name`` valid in ``year``."""
        if name in self._cache:
            return self._cache[name]
        found: tuple[int, UsedFactor] | None = None
        for idx in range(len(self.sets) - 1, -1, -1):
            fset = self.sets[idx]
            hits = [f for f in fset.factors if f.name == name and f.valid_in(self.year)]
            if hits:
                # Several versions valid in the same year: the one that started last wins.
                f = max(hits, key=lambda x: x.valid_from.toordinal() if x.valid_from else 0)
                status = "" if f.status == "V" else f" [{f.status}]"
                used = UsedFactor(f.name, f.value, f.unit, f"{fset.name} v{fset.version}: {f.source.text()}{status}")
                found = (idx, used)
                break
        self._cache[name] = found
        return found

    def get(self, name: str) -> UsedFactor:
        hit = self._find(name)
        if hit is None:
            raise FactorNotFoundError(
                f"no factor {name} valid in {self.year} in sets {', '.join(s.name for s in self.sets)}"
            )
        return hit[1]

    def get_layered(self, specific: str, generic: str) -> UsedFactor:
        """The specific (e.g. depth-class) factor, unless a higher-priority set defines the generic name.

        The Kuzbass set defines ``underground_mining`` without depth classes; when selected it must beat
        ``underground_mining.average`` from ipcc2006.
        """
        a, b = self._find(specific), self._find(generic)
        if a is None and b is None:
            raise FactorNotFoundError(f"no factor {specific} or {generic} valid in {self.year}")
        if a is None or (b is not None and b[0] > a[0]):
            assert b is not None
            return b[1]
        return a[1]

    def fuel(self, name: str) -> Fuel | None:
        for fset in reversed(self.sets):
            if name in fset.fuels:
                return fset.fuels[name]
        return None

    def fuel_names(self) -> list[str]:
        return sorted({n for s in self.sets for n in s.fuels})


def resolver_for(methodology: Methodology, extra: list[FactorSet], year: int) -> FactorResolver:
    sets = [load_builtin_factor_set(n) for n in methodology.base_sets] + list(extra)
    return FactorResolver(sets, year)
