from __future__ import annotations

import pytest

from ghgwatch.uav import Flight
from ghgwatch.uav.simulator import Scenario, simulate

# A small curtain (4 passes, 30 m either side) keeps the simulation to a fraction of a second.
SMALL = Scenario(rate_kg_h=20.0, wind_speed_ms=4.0, wind_from_deg=250.0, distance_m=30.0, half_width_m=30.0,
                 lowest_m=2.0, top_m=14.0, spacing_m=3.0, direction_swing_deg=4.0, turbulence=0.15,
                 vertical_turbulence=0.08)


@pytest.fixture(scope="session")
def small_flight() -> Flight:
    return simulate(SMALL, seed=3)
