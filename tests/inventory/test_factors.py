from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from ghgwatch.inventory import (
    calculate,
    canonical_sha256,
    check_296fz,
    gwp_sets,
    load_builtin_factor_set,
    load_user_factor_set,
)

from .conftest import doc


def test_gwp_sets_values_and_sources() -> None:
    sets = gwp_sets()
    assert set(sets) == {"ar4", "ar5", "ar6", "ru2979r"}
    assert (sets["ar4"].ch4_fossil, sets["ar4"].n2o) == (25, 298)
    assert (sets["ar5"].ch4_fossil, sets["ar5"].n2o) == (28, 265)
    assert (sets["ar6"].ch4_fossil, sets["ar6"].values["ch4_non_fossil"], sets["ar6"].n2o) == (
        29.8,
        27.0,
        273,
    )
    assert (sets["ru2979r"].ch4_fossil, sets["ru2979r"].n2o) == (25, 298)
    assert "2979" in sets["ru2979r"].source


def test_every_shipped_factor_has_unit_source_and_validity() -> None:
    for name in ("ipcc2006", "ru371", "kuzbass"):
        fs = load_builtin_factor_set(name)
        assert fs.factors
        for f in fs.factors:
            assert f.unit
            assert f.source.document
            assert f.valid_from is not None
    kuz = load_builtin_factor_set("kuzbass")
    assert {f.name: f.value for f in kuz.factors} == {
        "underground_mining": 15.1,
        "underground_post_mining": 3.0,
        "surface_mining": 5.5,
    }
    assert all(f.status == "?" for f in kuz.factors)


def _user_set(tmp_path: Path, **factor: object) -> Path:
    base = {
        "name": "underground_mining",
        "value": 12.0,
        "unit": "m3/t",
        "status": "user",
        "source": {"document": "Mine X gas survey 2024"},
        "valid_from": "2024-01-01",
    }
    path = tmp_path / "mine-x.json"
    path.write_text(json.dumps({"name": "mine_x", "version": "1", "factors": [{**base, **factor}]}), "utf-8")
    return path


def test_user_factor_set_from_json(tmp_path: Path) -> None:
    path = _user_set(tmp_path)
    assert load_user_factor_set(path).factors[0].value == 12.0
    data = doc({"id": "a", "type": "coal_mining_underground", "coal_t": 1000}, factor_sets=[path.name])
    res = calculate(data, base_dir=tmp_path)
    assert res.activities[0].ch4_t == pytest.approx(1000 * 12 * 0.67 / 1000)
    assert res.activities[0].factors[0].source.startswith("mine_x v1: Mine X gas survey 2024")
    # The user set's content is part of the input hash.
    assert res.inputs_sha256 != canonical_sha256(data)


def test_user_factor_validity_period_respected(tmp_path: Path) -> None:
    path = _user_set(tmp_path, valid_to="2024-12-31")
    res = calculate(
        doc({"id": "a", "type": "coal_mining_underground", "coal_t": 1000}, factor_sets=[str(path)])
    )  # 2025: expired → IPCC default 18
    assert res.activities[0].factors[0].value == 18


def test_invalid_user_factor_set(tmp_path: Path) -> None:
    path = _user_set(tmp_path, unit=None)
    with pytest.raises(ValidationError):
        load_user_factor_set(path)


def test_inputs_hash_is_canonical_json() -> None:
    data = doc({"id": "a", "type": "flaring", "ch4_m3": 1})
    assert calculate(data).inputs_sha256 == canonical_sha256(data)
    assert calculate({**data, "year": 2024}).inputs_sha256 != canonical_sha256(data)


@pytest.mark.parametrize(
    ("total", "year", "threshold", "regulated", "deadline"),
    [
        (60_000, 2025, 50_000, True, "2026-07-01"),
        (49_999, 2025, 50_000, False, None),
        (50_000, 2024, 50_000, True, "2025-07-01"),
        (100_000, 2023, 150_000, False, None),
        (150_000, 2022, 150_000, True, "2023-07-01"),
        (1_000_000, 2021, 150_000, False, None),
    ],
)
def test_296fz_thresholds(
    total: float, year: int, threshold: float, regulated: bool, deadline: str | None
) -> None:
    st = check_296fz(total, year)
    assert st.threshold_t_co2e == threshold
    assert st.regulated is regulated
    assert (st.report_deadline.isoformat() if st.report_deadline else None) == deadline


def test_output_contract() -> None:
    out = calculate(doc({"id": "a", "type": "coal_mining_underground", "coal_t": 2_000_000})).to_dict()
    assert {
        "totals",
        "activities",
        "gwp",
        "methodology",
        "regulated_296fz",
        "threshold_t_co2e",
        "thresholds",
        "inputs_sha256",
    } <= set(out)
    assert set(out["totals"]) == {"co2_t", "ch4_t", "n2o_t", "co2e_t"}
    act = out["activities"][0]
    assert {"id", "type", "co2_t", "ch4_t", "n2o_t", "co2e_t", "factors"} <= set(act)
    assert set(act["factors"][0]) == {"name", "value", "unit", "source"}
    assert out["regulated_296fz"] is True
    assert out["threshold_t_co2e"] == 50_000
    assert out["methodology"]["name"] == "ipcc2006"
    assert out["gwp"]["name"] == "ar5"
    json.dumps(out)
