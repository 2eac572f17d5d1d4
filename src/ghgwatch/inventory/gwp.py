"""Global-warming-potential sets (100-year), shipped as versioned data in ``data/gwp.json``."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict


class GwpSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    values: dict[str, float]
    source: str
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def ch4_fossil(self) -> float:
        """GWP applied to fossil methane (coal-mine methane, natural gas, fuel combustion).

        AR6 splits CH4 into fossil 29.8 and non-fossil 27.0; coal-mine methane is fossil, so the fossil
        value is used where a set has one (METHODOLOGY §3 [V: S18]). Other sets have one CH4 value.
        """
        return self.values.get("ch4_fossil", self.values["ch4"])

    @property
    def n2o(self) -> float:
        return self.values["n2o"]


class _GwpFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    sets: tuple[GwpSet, ...]


@cache
def _load() -> _GwpFile:
    text = resources.files("ghgwatch.inventory").joinpath("data", "gwp.json").read_text("utf-8")
    return _GwpFile.model_validate(json.loads(text))


def gwp_sets() -> dict[str, GwpSet]:
    """All shipped GWP sets by name (``ar4``, ``ar5``, ``ar6``, ``ru2979r``)."""
    return {s.name: s for s in _load().sets}


def gwp_data_version() -> str:
    return _load().version


def get_gwp_set(name: str) -> GwpSet:
    sets = gwp_sets()
    if name not in sets:
        raise KeyError(f"unknown GWP set {name!r}; known: {', '.join(sets)}")
    return sets[name]
