"""Input models: one pydantic model per activity type, a discriminated union on ``type``.

Every quantity is non-negative; unknown fields are refused so that a misspelt factor override
(``ef_m3_per_ton``) is an error rather than silently ignored. Optional ``*_m3_per_t``, ``density_kg_m3``,
``efficiency`` ... fields override the methodology default and are recorded with source "user input".
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ghgwatch.inventory.quantities import check_energy_unit, check_gas_unit, check_unit

GasReference = Literal["0C", "15C", "20C"]
GasType = Literal["natural_gas_sour", "natural_gas", "associated_gas", "coal_seam_gas", "gas_condensate_field_gas"]
"""Gas types of Order 371 Tables 2.1 and 3.1 (natural_gas_sour and associated_gas ... see docs/inventory.md)."""
FuelUnit = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(check_unit)]
"""Mass, volume or energy as people write it ("t", "тыс. м3", "ТДж", "t c.e." ...), parsed with pint."""
GasUnit = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(check_gas_unit)]
EnergyUnit = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(check_energy_unit)]
NonNeg = Annotated[float, Field(ge=0)]
Provenance = Annotated[str, Field(min_length=1, max_length=1000)]
"""Where a value given in the activity comes from (a stored measurement, a reference record); without it a given
value is cited as "user input"."""
Fraction = Annotated[float, Field(ge=0, le=1)]
Percent = Annotated[float, Field(ge=0, le=100)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    facility: str | None = None
    note: str | None = None
    period_share: Fraction = 1.0
    """Share of the activity's own period inside the calculated period (pro-rating); scales the result."""


class _GasVolume(_Base):
    # None → the methodology default (20C for ipcc2006 and ru371; see docs/inventory.md).
    gas_reference: GasReference | None = None
    density_kg_m3: Annotated[float, Field(gt=0)] | None = None


class CoalMiningUnderground(_GasVolume):
    type: Literal["coal_mining_underground"]
    coal_t: NonNeg
    depth_m: NonNeg | None = None
    ef_m3_per_t: NonNeg | None = None
    ef_source: Provenance | None = None
    """Source of ``ef_m3_per_t`` (a run sets it for Tier 2 from the mine reference database)."""


class CoalPostMiningUnderground(_GasVolume):
    type: Literal["coal_post_mining_underground"]
    coal_t: NonNeg
    depth_m: NonNeg | None = None
    ef_m3_per_t: NonNeg | None = None


class CoalMiningSurface(_GasVolume):
    type: Literal["coal_mining_surface"]
    coal_t: NonNeg
    overburden_m: NonNeg | None = None
    ef_m3_per_t: NonNeg | None = None
    ef_source: Provenance | None = None


class CoalPostMiningSurface(_GasVolume):
    type: Literal["coal_post_mining_surface"]
    coal_t: NonNeg
    overburden_m: NonNeg | None = None
    ef_m3_per_t: NonNeg | None = None


class CoalMineMeasured(_GasVolume):
    """Tier 3: measured ventilation and drainage CH4 volumes (pure CH4 m3 at ``gas_reference``)."""

    type: Literal["coal_mine_measured"]
    ventilation_ch4_m3: NonNeg
    drainage_ch4_m3: NonNeg = 0.0
    utilized_ch4_m3: NonNeg = 0.0
    flared_ch4_m3: NonNeg = 0.0
    efficiency: Fraction | None = None
    coal_t: NonNeg | None = None
    depth_m: NonNeg | None = None
    post_mining_ef_m3_per_t: NonNeg | None = None

    @model_validator(mode="after")
    def _recovered_not_above_liberated(self) -> CoalMineMeasured:
        if self.utilized_ch4_m3 + self.flared_ch4_m3 > self.ventilation_ch4_m3 + self.drainage_ch4_m3:
            raise ValueError(
                "utilized_ch4_m3 + flared_ch4_m3 exceeds the liberated methane (ventilation_ch4_m3 + drainage_ch4_m3)"
            )
        return self


class MethaneUtilisation(_GasVolume):
    """Drained methane burned for energy in gas engines or boilers (pure CH4 m3 at ``gas_reference``).

    Subtracted from the mine's emitted methane (``coal_mine_measured.utilized_ch4_m3``); the CO2 of its
    combustion is reported here under stationary combustion (1.A), METHODOLOGY §1.3 and §6.2 [M]. Without a
    given ``efficiency`` the combustion is taken as complete (no unburnt slip): no default engine or boiler
    factor is in the project's sources.
    """

    type: Literal["methane_utilisation"]
    ch4_m3: NonNeg
    efficiency: Fraction | None = None


class AbandonedMines(_GasVolume):
    """Tier 1 (``N × fraction_gassy × EF × CF``) or Tier 2 decline curve (``E0 × (1 + a·T)^b``)."""

    type: Literal["abandoned_mines"]
    tier: Literal[1, 2] = 1
    # Tier 1
    mines: Annotated[int, Field(ge=0)] | None = None
    closure_period: Literal["1901-1925", "1926-1950", "1951-1975", "1976-2000", "2001-present"] | None = None
    # Required: the IPCC default fraction of gassy mines could not be verified (METHODOLOGY §1.4 [?]).
    fraction_gassy: Fraction | None = None
    ef_m3_per_mine: NonNeg | None = None
    # Tier 2
    initial_emission_m3: NonNeg | None = None
    years_since_closure: NonNeg | None = None
    coal_rank: Literal["anthracite", "bituminous", "sub_bituminous"] | None = None
    decline_a: float | None = None
    decline_b: float | None = None

    @model_validator(mode="after")
    def _fields_for_tier(self) -> AbandonedMines:
        need = (
            ("mines", "closure_period", "fraction_gassy")
            if self.tier == 1
            else ("initial_emission_m3", "years_since_closure", "coal_rank")
        )
        missing = [n for n in need if getattr(self, n) is None]
        if self.tier == 2 and "coal_rank" in missing and None not in (self.decline_a, self.decline_b):
            missing.remove("coal_rank")
        if missing:
            raise ValueError(f"tier {self.tier} requires field(s): {', '.join(missing)}")
        return self


class StationaryCombustion(_Base):
    """Formula 1.1 of Order 371 / IPCC Eq. 2.1. ``route`` "ncv": quantity → TJ (by NCV) × EF per TJ; "tce":
    quantity → t of coal equivalent (by k) × EF per t c.e. The oxidation factor is, in order: given;
    formula 1.8 from ``unburnt_heat_loss_pct`` (q4); formula 1.9 from ``carbon_in_ash_t`` and
    ``carbon_in_fuel_t``; the methodology default for the fuel's state."""

    type: Literal["stationary_combustion"]
    fuel: str = Field(min_length=1)
    quantity: NonNeg
    unit: FuelUnit
    route: Literal["ncv", "tce"] = "ncv"
    sector: Literal["manufacturing", "energy"] = "manufacturing"
    ncv_tj_per_unit: NonNeg | None = None
    k_tce_per_unit: NonNeg | None = None
    ef_co2_t_per_tj: NonNeg | None = None
    ef_co2_t_per_tce: NonNeg | None = None
    ef_ch4_kg_per_tj: NonNeg | None = None
    ef_n2o_kg_per_tj: NonNeg | None = None
    oxidation_factor: Fraction | None = None
    unburnt_heat_loss_pct: Percent | None = None
    carbon_in_ash_t: NonNeg | None = None
    carbon_in_fuel_t: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _carbon_pair(self) -> StationaryCombustion:
        if (self.carbon_in_ash_t is None) != (self.carbon_in_fuel_t is None):
            raise ValueError("give both carbon_in_ash_t and carbon_in_fuel_t (Order 371 formula 1.9) or neither")
        if self.carbon_in_ash_t is not None and self.carbon_in_fuel_t is not None \
                and self.carbon_in_ash_t > self.carbon_in_fuel_t:
            raise ValueError("carbon_in_ash_t exceeds carbon_in_fuel_t")
        return self


MobileFuel = Literal["motor_gasoline", "diesel", "lpg", "natural_gas"]
"""Road-transport fuels of IPCC 2006 Vol.2 Ch.3 Table 3.2.2: motor gasoline, gas/diesel oil, liquefied
petroleum gas, natural gas (CNG, measured as gas volume)."""
GasolineVehicle = Literal["uncontrolled", "oxidation_catalyst", "low_mileage_ldv_1995_or_later"]
"""The motor-gasoline rows of IPCC 2006 Vol.2 Ch.3 Table 3.2.2; the other road fuels have one row each."""
GASOLINE_VEHICLES: tuple[str, ...] = ("uncontrolled", "oxidation_catalyst", "low_mileage_ldv_1995_or_later")


class MobileCombustion(_Base):
    """IPCC 2006 Vol.2 Ch.3 Eq. 3.2.1 (CO2 = Σ fuel × EF) and Eq. 3.2.3 (CH4, N2O = Σ fuel × EF by fuel and
    vehicle technology), Tier 1: fuel burnt by a fleet (``mode`` road, category 1.A.3.b). The quantity is
    converted to TJ by the fuel's NCV as in stationary combustion; ``vehicle`` is required for motor gasoline
    (Table 3.2.2 has three technologies) and refused for the other fuels (one row each)."""

    type: Literal["mobile_combustion"]
    mode: Literal["road"] = "road"
    fuel: MobileFuel
    vehicle: GasolineVehicle | None = None
    quantity: NonNeg
    unit: FuelUnit
    ncv_tj_per_unit: NonNeg | None = None
    ef_co2_t_per_tj: NonNeg | None = None
    ef_ch4_kg_per_tj: NonNeg | None = None
    ef_n2o_kg_per_tj: NonNeg | None = None

    @model_validator(mode="after")
    def _vehicle_for_fuel(self) -> MobileCombustion:
        if self.fuel == "motor_gasoline" and self.vehicle is None:
            raise ValueError(f"fuel 'motor_gasoline' needs vehicle, one of: {', '.join(GASOLINE_VEHICLES)} "
                             "(IPCC 2006 Vol.2 Ch.3 Table 3.2.2)")
        if self.fuel != "motor_gasoline" and self.vehicle is not None:
            raise ValueError(f"vehicle {self.vehicle!r} applies to motor_gasoline only; fuel {self.fuel!r} has one "
                             "road factor for all vehicles (IPCC 2006 Vol.2 Ch.3 Table 3.2.2): omit vehicle")
        return self


class PurchasedEnergy(_Base):
    """GHG Protocol Scope 2 (indirect emissions from purchased electricity or heat): CO2 = energy × factor.

    ``method`` "location": the grid factor ``grid.<electricity|heat>.<region>`` (t CO2/MWh) from a factor set
    valid in the year (sets per region and year), or ``ef_t_co2_per_mwh``; "market": the contractual
    instrument's factor ``contractual_ef_t_co2_per_mwh`` (supplier-specific, PPA, certificates), or the
    residual-mix factor ``grid.residual.<electricity|heat>.<region>`` from a factor set. No grid factors are
    shipped (none has a source in the project yet, docs/sources.md).
    """

    type: Literal["purchased_electricity", "purchased_heat"]
    quantity: NonNeg
    unit: EnergyUnit
    method: Literal["location", "market"] = "location"
    region: str | None = Field(default=None, min_length=1, max_length=100)
    ef_t_co2_per_mwh: NonNeg | None = None
    contractual_ef_t_co2_per_mwh: NonNeg | None = None


class GasFlaring(_Base):
    """Order 371 Table 2.1: CO2 and CH4 of flaring a gas of ``gas_type``, per t or per thousand m3 flared."""

    type: Literal["gas_flaring"]
    gas_type: GasType
    quantity: NonNeg
    unit: GasUnit
    ef_co2: NonNeg | None = None
    """t CO2 per t or per thousand m3 (as ``unit``'s kind), overriding Table 2.1."""
    ef_ch4: NonNeg | None = None


class Flaring(_GasVolume):
    type: Literal["flaring"]
    ch4_m3: NonNeg
    efficiency: Fraction | None = None


class VentedGas(_GasVolume):
    """Order 371 formula 3.1: E_i = FC × W_i × ρ_i × 10⁻² for CH4 and CO2 in a vented mixture."""

    type: Literal["vented_gas"]
    volume_m3: NonNeg
    gas_type: GasType | None = None
    """Default composition from Order 371 Table 3.1 for percentages not given."""
    ch4_percent: Percent | None = None
    co2_percent: Percent | None = None
    ch4_source: Provenance | None = None
    """Source of ``ch4_percent`` (a run sets it to the lab sample used, see ghgwatch.inventory.stored)."""
    co2_source: Provenance | None = None
    co2_density_kg_m3: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _composition(self) -> VentedGas:
        if (self.ch4_percent or 0.0) + (self.co2_percent or 0.0) > 100:
            raise ValueError("ch4_percent + co2_percent exceeds 100")
        return self


class MeasuredLeak(_Base):
    """A measured fugitive CH4 emission of a source: a quantified UAV flight taken over a stated duration
    (``uav.leak``), pro-rated to the run's period. ``ch4_kg`` enters the total; the 95 % interval is carried along.
    A run adds it only where no facility-wide figure already covers the source (docs/inventory.md)."""

    type: Literal["measured_leak"]
    ch4_kg: NonNeg
    lower_kg: NonNeg | None = None
    upper_kg: NonNeg | None = None
    hours: NonNeg | None = None
    provenance: Provenance

    @model_validator(mode="after")
    def _interval(self) -> MeasuredLeak:
        if self.lower_kg is not None and self.lower_kg > self.ch4_kg:
            raise ValueError("lower_kg exceeds ch4_kg")
        if self.upper_kg is not None and self.upper_kg < self.ch4_kg:
            raise ValueError("upper_kg is below ch4_kg")
        return self


Activity = Annotated[
    CoalMiningUnderground
    | CoalPostMiningUnderground
    | CoalMiningSurface
    | CoalPostMiningSurface
    | CoalMineMeasured
    | AbandonedMines
    | MethaneUtilisation
    | StationaryCombustion
    | MobileCombustion
    | Flaring
    | GasFlaring
    | PurchasedEnergy
    | VentedGas
    | MeasuredLeak,
    Field(discriminator="type"),
]

ACTIVITY_TYPES: tuple[str, ...] = (
    "coal_mining_underground",
    "coal_post_mining_underground",
    "coal_mining_surface",
    "coal_post_mining_surface",
    "coal_mine_measured",
    "abandoned_mines",
    "methane_utilisation",
    "stationary_combustion",
    "mobile_combustion",
    "flaring",
    "gas_flaring",
    "purchased_electricity",
    "purchased_heat",
    "vented_gas",
    "measured_leak",
)


class CalcInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    methodology: Literal["ipcc2006", "ru371"]
    gwp: str | None = None
    year: Annotated[int, Field(ge=1990, le=2100)]
    organization: str = ""
    # Extra factor sets applied on top of the methodology defaults, in order: a built-in name
    # ("kuzbass") or a path to a user JSON set (relative to the input file).
    factor_sets: list[str] = Field(default_factory=list)
    activities: list[Activity]

    @model_validator(mode="after")
    def _unique_ids(self) -> CalcInput:
        counts = Counter(a.id for a in self.activities)
        dups = sorted(i for i, n in counts.items() if n > 1)
        if dups:
            raise ValueError(f"duplicate activity id(s): {', '.join(dups)}")
        return self
