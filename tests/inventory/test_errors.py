from __future__ import annotations

import pytest

from ghgwatch.inventory import InventoryInputError, calculate

from .conftest import doc


def errors_of(data: dict[str, object]) -> list[str]:
    with pytest.raises(InventoryInputError) as info:
        calculate(data)
    return [str(i) for i in info.value.items]


def test_all_errors_reported_with_id_index_and_field() -> None:
    errs = errors_of(
        doc(
            {"id": "ok", "type": "flaring", "ch4_m3": 10},
            {"id": "u", "type": "coal_mining_underwater", "coal_t": 1},
            {"id": "m", "type": "coal_mining_underground"},
            {"id": "n", "type": "flaring", "ch4_m3": -5},
            {"id": "w", "type": "stationary_combustion", "fuel": "diesel", "quantity": 1, "unit": "m3"},
            {"id": "f", "type": "stationary_combustion", "fuel": "diesel", "quantity": 1, "unit": "barrel"},
            {"id": "z", "type": "stationary_combustion", "fuel": "unobtainium", "quantity": 1, "unit": "t"},
        )
    )
    assert len(errs) == 6
    assert errs[0].startswith(
        "activity 'u' (index 1), field 'type': unknown activity type 'coal_mining_underwater'"
    )
    assert errs[1].startswith("activity 'm' (index 2), field 'coal_t': Field required")
    assert errs[2].startswith(
        "activity 'n' (index 3), field 'ch4_m3': Input should be greater than or equal to 0"
    )
    assert errs[3].startswith("activity 'w' (index 4), field 'unit': fuel 'diesel' is measured by mass")
    assert errs[4].startswith("activity 'f' (index 5), field 'unit'")
    assert errs[5].startswith("activity 'z' (index 6), field 'fuel': unknown fuel 'unobtainium'")


def test_misspelt_override_is_refused() -> None:
    errs = errors_of(doc({"id": "a", "type": "coal_mining_underground", "coal_t": 1, "ef_m3_per_ton": 3}))
    assert errs == ["activity 'a' (index 0), field 'ef_m3_per_ton': Extra inputs are not permitted"]


def test_top_level_and_cross_field_errors() -> None:
    errs = errors_of(
        {
            "methodology": "ghg_protocol",
            "year": 2025,
            "activities": [
                {"id": "a", "type": "coal_mine_measured", "ventilation_ch4_m3": 10, "utilized_ch4_m3": 20},
                {"id": "a", "type": "abandoned_mines", "mines": 3},
            ],
        }
    )
    joined = "\n".join(errs)
    assert "field 'methodology'" in joined
    assert "activity 'a' (index 0)" in joined
    assert "exceeds the liberated methane" in joined
    assert "activity 'a' (index 1)" in joined
    assert "closure_period, fraction_gassy" in joined


def test_unknown_gwp_and_duplicate_ids() -> None:
    errs = errors_of(doc({"id": "a", "type": "flaring", "ch4_m3": 1}, gwp="ar9"))
    assert errs == ["field 'gwp': unknown GWP set 'ar9'; known: ar4, ar5, ar6, ru2979r"]
    errs = errors_of(
        doc({"id": "a", "type": "flaring", "ch4_m3": 1}, {"id": "a", "type": "flaring", "ch4_m3": 1})
    )
    assert "duplicate activity id(s): a" in errs[0]
