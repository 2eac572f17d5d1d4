"""Factor library: versioned reference data shipped with the package, plus user-defined sets.

A factor set is a JSON file (``data/<name>.json``) with ``factors`` (one record per value: name, value,
unit, source, validity period, tags, verification status) and an optional compact ``fuels`` section that
the loader expands into ``fuel.<fuel>.<quantity>`` factors. User-defined sets use the same schema.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["V", "M", "?", "user"]
FuelState = Literal["solid", "liquid", "gas"]
FuelBasis = Literal["mass", "volume"]
SECTORS = ("manufacturing", "energy")


class FactorSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    document: str
    table: str = ""
    equation: str = ""
    ref: str = ""

    def text(self) -> str:
        parts = [p for p in (self.document, self.table, self.equation) if p]
        out = "; ".join(parts)
        return f"{out} via {self.ref}" if self.ref else out


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    value: float
    unit: str
    source: FactorSource
    valid_from: date | None = None
    valid_to: date | None = None
    tags: tuple[str, ...] = ()
    status: Status = "V"

    def valid_in(self, year: int) -> bool:
        """True when the validity period overlaps the calendar year."""
        if self.valid_from is not None and self.valid_from > date(year, 12, 31):
            return False
        return not (self.valid_to is not None and self.valid_to < date(year, 1, 1))


class Fuel(BaseModel):
    """Compact fuel record; NCV per ``ncv_unit``, EF CO2/CH4/N2O in kg/TJ as in the IPCC tables.

    Order 371 Table 1.1 fuels also carry ``k_tce`` (t of coal equivalent per t or per thousand m3) and
    ``ef_co2_tce`` (t CO2 per t c.e.) for the coal-equivalent route of formula 1.1; their CH4/N2O tables are
    empty (formula 1.1 gives CO2 only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    state: FuelState
    basis: FuelBasis
    ncv: float = Field(gt=0)
    ncv_unit: Literal["TJ/kt", "TJ/thousand_m3", "TJ/million_m3"]
    ef_co2: float = Field(ge=0)
    ch4: dict[str, float]
    n2o: dict[str, float]
    status: dict[str, Status] = Field(default_factory=dict)
    ref: str
    document: str = "IPCC 2006 GL Vol.2 Ch.1-2"
    table: str = ""
    k_tce: float | None = Field(default=None, gt=0)
    ef_co2_tce: float | None = Field(default=None, ge=0)
    carbon_t_per_tj: float | None = Field(default=None, ge=0)
    valid_from: date | None = None
    valid_to: date | None = None


class FactorSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    factors: tuple[Factor, ...] = ()
    fuels: tuple[Fuel, ...] = ()


class FactorSet(BaseModel):
    """A loaded set: factors by name (several versions per name allowed) and fuel metadata."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    description: str
    factors: tuple[Factor, ...]
    fuels: dict[str, Fuel]


def _fuel_factors(fuel: Fuel) -> list[Factor]:
    src = FactorSource(document=fuel.document, table=fuel.table or f"fuel {fuel.name}", ref=fuel.ref)
    st = fuel.status
    common = {"valid_from": fuel.valid_from, "valid_to": fuel.valid_to, "source": src}
    out = [
        Factor(
            name=f"fuel.{fuel.name}.ncv",
            value=fuel.ncv,
            unit=fuel.ncv_unit,
            status=st.get("ncv", "V"),
            tags=("combustion", "ncv"),
            **common,
        ),
        # kg/TJ in the IPCC tables → t/TJ here.
        Factor(
            name=f"fuel.{fuel.name}.ef_co2",
            value=fuel.ef_co2 / 1000.0,
            unit="t CO2/TJ",
            status=st.get("ef_co2", "V"),
            tags=("combustion", "co2"),
            **common,
        ),
    ]
    if fuel.k_tce is not None:
        out.append(Factor(name=f"fuel.{fuel.name}.k_tce", value=fuel.k_tce,
                          unit="t c.e./t" if fuel.basis == "mass" else "t c.e./thousand m3",
                          status=st.get("k_tce", "V"), tags=("combustion", "tce"), **common))
    if fuel.ef_co2_tce is not None:
        out.append(Factor(name=f"fuel.{fuel.name}.ef_co2_tce", value=fuel.ef_co2_tce, unit="t CO2/t c.e.",
                          status=st.get("ef_co2_tce", "V"), tags=("combustion", "co2", "tce"), **common))
    for gas, table in (("ch4", fuel.ch4), ("n2o", fuel.n2o)):
        out.extend(
            Factor(
                name=f"fuel.{fuel.name}.ef_{gas}.{sector}",
                value=value,
                unit=f"kg {gas.upper()}/TJ",
                status=st.get(gas, "V"),
                tags=("combustion", gas, sector),
                **common,
            )
            for sector, value in table.items()
        )
    return out


def factor_set_from_data(data: object) -> FactorSet:
    """Validate raw JSON data (the same schema for shipped and user sets) and expand fuels."""
    raw = FactorSetFile.model_validate(data)
    factors = list(raw.factors)
    for fuel in raw.fuels:
        factors.extend(_fuel_factors(fuel))
    return FactorSet(
        name=raw.name,
        version=raw.version,
        description=raw.description,
        factors=tuple(factors),
        fuels={f.name: f for f in raw.fuels},
    )


def builtin_factor_set_names() -> tuple[str, ...]:
    return ("ipcc2006", "ru371", "kuzbass")


@cache
def load_builtin_factor_set(name: str) -> FactorSet:
    if name not in builtin_factor_set_names():
        raise KeyError(f"unknown factor set {name!r}; built-in sets: {', '.join(builtin_factor_set_names())}")
    text = resources.files("ghgwatch.inventory").joinpath("data", f"{name}.json").read_text("utf-8")
    return factor_set_from_data(json.loads(text))


def load_user_factor_set(path: str | Path) -> FactorSet:
    """Load a user-defined factor set; its factors carry status ``user`` unless stated otherwise."""
    return factor_set_from_data(json.loads(Path(path).read_text("utf-8")))
