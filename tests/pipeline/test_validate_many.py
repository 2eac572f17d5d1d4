"""``check_many`` (whole-poll validation in numpy) against a reading-by-reading reference, over random polls."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.units import UnitError, affine
from ghgwatch.pipeline.validate import (
    FUTURE_TOLERANCE_US,
    LATE_AFTER_US,
    WRONG_ORGANIZATION,
    _limits,
    check_many,
)
from ghgwatch.readings.models import Quality
from ghgwatch.registry.cache import SensorMeta

NOW = 1_790_000_000_000_000
DAY = 86_400_000_000
MIN_TS = NOW - 30 * DAY


def _meta(sensor: int, kind: str, unit: str, *, active: bool = True, organization: int = 1,
          range_max: float | None = None) -> SensorMeta:
    return SensorMeta(sensor, organization, 1, 1, "mine", kind, unit, None, range_max, None, None, 60.0, None, active)


METAS = {1: _meta(1, "methane", "%"), 2: _meta(2, "methane", "ppm"), 3: _meta(3, "temperature", "degC"),
         4: _meta(4, "methane", "%", active=False), 5: _meta(5, "methane", "%", organization=2),
         6: _meta(6, "co2", "%", range_max=5.0)}  # 7: not registered

AGES = [-10 * FUTURE_TOLERANCE_US, -FUTURE_TOLERANCE_US, -1, 0, 5, LATE_AFTER_US, LATE_AFTER_US + 1, 30 * DAY,
        30 * DAY + 1]  # microseconds before NOW: each limit, on and just past it
batches = st.lists(st.builds(
    lambda sensor, unit, readings, flags, late: SensorBatch(
        sensor, unit, [NOW - age for age, _ in readings], [v for _, v in readings], 1, 1, "http",
        NOW + late, "r", flags),
    st.integers(1, 7), st.sampled_from([None, "%", "ppm", "degC", "K"]),
    st.lists(st.tuples(st.sampled_from(AGES),
                       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 2.5, 100.0]))),
             max_size=6),
    st.sampled_from([0, int(Quality.REPLAYED)]), st.sampled_from([0, 2 * LATE_AFTER_US])), max_size=12)


def _reference(polled: list[SensorBatch], min_ts: int | None) -> tuple[dict[int, list[tuple[int, float, int, int]]],
                                                                       list[tuple[int, int, str]]]:
    """Reading by reading: accepted (ts, value, quality, accepted_us) per sensor in arrival order; rejections in
    ``check_many``'s order (whole-batch ones as met, then single readings in poll order)."""
    kept: dict[int, list[tuple[int, float, int, int]]] = {}
    whole: list[tuple[int, int, str]] = []
    single: list[tuple[int, int, str]] = []
    for bi, b in enumerate(polled):
        meta = METAS.get(b.sensor)
        reason = ("unknown_sensor" if meta is None else "inactive_sensor" if not meta.active
                  else WRONG_ORGANIZATION if meta.organization_id != b.organization else None)
        scale, offset, flag = 1.0, 0.0, b.flags & Quality.REPLAYED
        if reason is None and meta is not None and b.unit is not None and b.unit != meta.unit:
            try:
                scale, offset = affine(b.unit, meta.unit, meta.kind)
                flag |= Quality.UNIT_CONVERTED
            except UnitError:
                reason = "unit"
        if reason is not None:
            whole.extend((bi, i, reason) for i in range(len(b.ts)))
            continue
        assert meta is not None
        lo, hi = _limits(meta)
        for i, (t, raw) in enumerate(zip(b.ts, b.values, strict=True)):
            v = raw * scale + offset
            if not math.isfinite(v):
                single.append((bi, i, "not_finite"))
            elif not lo <= v <= hi:
                single.append((bi, i, "out_of_range"))
            elif t > NOW + FUTURE_TOLERANCE_US:
                single.append((bi, i, "future_timestamp"))
            elif min_ts is not None and t < min_ts:
                single.append((bi, i, "expired"))
            else:
                late = Quality.LATE if b.accepted_us - t > LATE_AFTER_US else 0
                kept.setdefault(b.sensor, []).append((t, v, int(flag | late), b.accepted_us))
    return dict(sorted(kept.items())), whole + single


@settings(max_examples=300, deadline=None)
@given(polled=batches, expire=st.booleans())
def test_check_many_equals_a_reading_by_reading_reference(polled: list[SensorBatch], expire: bool) -> None:
    min_ts = MIN_TS if expire else None
    checked = check_many(polled, METAS, NOW, min_ts)
    kept, rejected = _reference(polled, min_ts)
    assert checked.sensors == list(kept)
    for k, sensor in enumerate(checked.sensors):
        ts, values, quality, accepted = zip(*kept[sensor], strict=True)
        assert checked.ts[k].tolist() == list(ts)
        assert np.allclose(checked.values[k], values, rtol=1e-12, atol=0)
        assert checked.quality[k].tolist() == list(quality)
        assert checked.accepted_us[k].tolist() == list(accepted)
    assert [(bi, i, reason) for bi, i, reason, _ in checked.rejected] == rejected


def test_a_changed_sensor_range_applies_at_once() -> None:
    """The limits are remembered per sensor only for the very meta object they came from: the sensor cache's next
    reload (a new object with a narrower range) is applied to the next poll, not the remembered limits."""
    reading = SensorBatch(6, None, [NOW], [4.0], 1, 1, "http", NOW, "r")
    assert check_many([reading], {6: _meta(6, "co2", "%", range_max=5.0)}, NOW).rejected == []
    narrowed = check_many([reading], {6: _meta(6, "co2", "%", range_max=3.0)}, NOW)
    assert [(bi, i, reason) for bi, i, reason, _ in narrowed.rejected] == [(0, 0, "out_of_range")]
    assert check_many([reading], {6: _meta(6, "co2", "%", range_max=5.0)}, NOW).rejected == []
