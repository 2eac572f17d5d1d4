"""What a quantification returns, and why it may refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Method(StrEnum):
    MASS_BALANCE = "mass-balance"
    PLUME = "plume"


class Refusal(StrEnum):
    """Why a flight cannot be quantified (a stable code; the message says the numbers)."""

    TOO_FEW_SAMPLES = "too_few_samples"
    NO_CURTAIN = "no_curtain"
    WIND_TOO_LOW = "wind_too_low"
    WIND_TOO_VARIABLE = "wind_too_variable"
    NOT_DOWNWIND = "curtain_not_downwind"
    NO_PLUME = "no_plume"
    FIT_FAILED = "fit_failed"


class CannotQuantify(Exception):
    """The flight cannot give a rate; ``code`` says which check failed and the message why."""

    def __init__(self, code: Refusal, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code.value}: {message}")


@dataclass
class Quantification:
    """A leak rate with its 95 % interval and what it rests on."""

    method: Method
    rate_kg_h: float
    lower_kg_h: float
    upper_kg_h: float
    background_ppm: float
    source: tuple[float, float] | None  # latitude, longitude
    transects: int
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``ghgwatch uav quantify`` (issue 15): exactly these keys."""
        return {
            "method": self.method.value,
            "rate_kg_h": round(self.rate_kg_h, 6),
            "lower_kg_h": round(self.lower_kg_h, 6),
            "upper_kg_h": round(self.upper_kg_h, 6),
            "background_ppm": round(self.background_ppm, 6),
            "source": None if self.source is None else {"latitude": self.source[0], "longitude": self.source[1]},
            "transects": self.transects,
            "warnings": list(self.warnings),
        }
