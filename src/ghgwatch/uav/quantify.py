"""One entry point: a flight and a method in, a :class:`Quantification` or :class:`CannotQuantify` out."""

from __future__ import annotations

from ghgwatch.uav.flight import Flight
from ghgwatch.uav.prepare import Limits, prepare
from ghgwatch.uav.result import Method, Quantification


def quantify(flight: Flight, method: Method = Method.MASS_BALANCE, *, limits: Limits | None = None,
             source: tuple[float, float] | None = None, stability: str | None = None,
             release_height_m: float = 0.0, n_boot: int | None = None, seed: int = 0) -> Quantification:
    """Quantify the CH4 leak rate a flight's curtain sees (raises ``CannotQuantify`` with the reason)."""
    prep = prepare(flight, limits, source)
    if method is Method.PLUME:
        from ghgwatch.uav.plume import plume_inversion

        return plume_inversion(prep, stability=stability, release_height_m=release_height_m,
                               n_boot=n_boot or 40, seed=seed)
    from ghgwatch.uav.massbalance import mass_balance

    return mass_balance(prep, n_boot=n_boot or 300, seed=seed)
