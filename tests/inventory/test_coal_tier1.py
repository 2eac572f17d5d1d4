"""METHODOLOGY §6.1: 2.0 Mt/yr underground mine, IPCC 2006 Tier 1 (hand-computed values)."""

from __future__ import annotations

import pytest

from ghgwatch.inventory import calculate

from .conftest import close, doc, one

COAL = 2_000_000


@pytest.mark.parametrize(
    ("depth", "mining_t", "post_t"),
    [
        (150, 13_400.0, 1_206.0),  # 2e6 × 10 × 0.67e-3; 2e6 × 0.9 × 0.67e-3
        (300, 24_120.0, 3_350.0),  # 2e6 × 18 × 0.67e-3; 2e6 × 2.5 × 0.67e-3
        (None, 24_120.0, 3_350.0),  # unknown depth → average
        (450, 33_500.0, 5_360.0),  # 2e6 × 25 × 0.67e-3; 2e6 × 4.0 × 0.67e-3
    ],
)
def test_underground_by_depth_class(depth: float | None, mining_t: float, post_t: float) -> None:
    extra = {} if depth is None else {"depth_m": depth}
    mining = one({"type": "coal_mining_underground", "coal_t": COAL, **extra})
    post = one({"type": "coal_post_mining_underground", "coal_t": COAL, **extra})
    assert close(mining.ch4_t, mining_t)
    assert close(post.ch4_t, post_t)
    assert mining.co2_t == 0.0
    assert mining.n2o_t == 0.0


def test_range_totals_match_methodology() -> None:
    low = calculate(
        doc(
            {"id": "m", "type": "coal_mining_underground", "coal_t": COAL, "depth_m": 100},
            {"id": "p", "type": "coal_post_mining_underground", "coal_t": COAL, "depth_m": 100},
        )
    )
    high = calculate(
        doc(
            {"id": "m", "type": "coal_mining_underground", "coal_t": COAL, "depth_m": 500},
            {"id": "p", "type": "coal_post_mining_underground", "coal_t": COAL, "depth_m": 500},
        )
    )
    assert close(low.totals()["ch4_t"], 14_606)
    assert close(high.totals()["ch4_t"], 38_860)
    assert close(low.totals()["co2e_t"], 409_000, rel=2e-3)  # "409 kt CO2e @28"


@pytest.mark.parametrize(
    ("gwp", "co2e"), [("ar4", 686_750), ("ar5", 769_160), ("ar6", 818_606), ("ru2979r", 686_750)]
)
def test_co2e_with_gwp_sets(gwp: str, co2e: float) -> None:
    res = calculate(
        doc(
            {"id": "m", "type": "coal_mining_underground", "coal_t": COAL},
            {"id": "p", "type": "coal_post_mining_underground", "coal_t": COAL},
            gwp=gwp,
        )
    )
    assert close(res.totals()["ch4_t"], 27_470)
    assert close(res.totals()["co2e_t"], co2e)


def test_depth_class_boundaries() -> None:
    efs = {
        d: one({"type": "coal_mining_underground", "coal_t": 1, "depth_m": d}).factors[0].value
        for d in (199.9, 200, 400, 400.1)
    }
    assert efs == {199.9: 10, 200: 18, 400: 18, 400.1: 25}


@pytest.mark.parametrize(
    ("overburden", "mining_ef", "post_ef"), [(10, 0.3, 0.0), (30, 1.2, 0.1), (None, 1.2, 0.1), (60, 2.0, 0.2)]
)
def test_surface_by_overburden(overburden: float | None, mining_ef: float, post_ef: float) -> None:
    extra = {} if overburden is None else {"overburden_m": overburden}
    m = one({"type": "coal_mining_surface", "coal_t": 1_000_000, **extra})
    p = one({"type": "coal_post_mining_surface", "coal_t": 1_000_000, **extra})
    assert close(m.ch4_t, 1_000_000 * mining_ef * 0.67 / 1000, rel=1e-9) or mining_ef == 0
    assert p.ch4_t == pytest.approx(1_000_000 * post_ef * 0.67 / 1000)
    assert m.factors[0].value == mining_ef


def test_kuzbass_regional_set_overrides_depth_classes() -> None:
    res = calculate(
        doc(
            {"id": "m", "type": "coal_mining_underground", "coal_t": COAL, "depth_m": 450},
            {"id": "p", "type": "coal_post_mining_underground", "coal_t": COAL},
            {"id": "s", "type": "coal_mining_surface", "coal_t": COAL},
            factor_sets=["kuzbass"],
        )
    )
    m, p, s = res.activities
    assert close(m.ch4_t + p.ch4_t, 24_254)  # (15.1 + 3.0) × 2e6 × 0.67e-3
    assert close(s.ch4_t, COAL * 5.5 * 0.67e-3)
    assert "kuzbass" in m.factors[0].source
    assert "[?]" in m.factors[0].source  # flagged unverified


def test_gas_reference_0c_uses_physical_density() -> None:
    a = one({"type": "coal_mining_underground", "coal_t": COAL, "gas_reference": "0C"})
    assert close(a.ch4_t, COAL * 18 * 16.043 / 22.414 / 1000)
    assert a.factors[1].name == "density.ch4.0C"


def test_explicit_factor_is_recorded_as_user_input() -> None:
    a = one({"type": "coal_mining_underground", "coal_t": COAL, "ef_m3_per_t": 15.1, "density_kg_m3": 0.7})
    assert close(a.ch4_t, COAL * 15.1 * 0.7 / 1000)
    assert [f.source for f in a.factors] == ["user input", "user input"]
