"""parse_json's whole-body fast path gives what the per-reading path gives, and falls back to it (with the
per-reading messages) as soon as one reading is not plainly valid."""

from __future__ import annotations

import json

from ghgwatch.ingest import parse
from ghgwatch.ingest.parse import Parsed, parse_json


def _slow(body: bytes) -> Parsed:
    out = Parsed()
    for i, r in enumerate(parse._body.decode(body).readings):
        out.add(i, r.sensor, r.ts, r.value, r.unit)
    return out


def test_fast_path_equals_the_per_reading_path() -> None:
    body = json.dumps({"readings": [
        {"sensor": 7, "ts": "2026-11-30T08:00:00.123456+00:00", "value": 0.5},
        {"sensor": 8, "ts": "2026-11-30T15:00:00+07:00", "value": 1e-3, "unit": "ppm"},
        {"sensor": 7, "ts": "1969-12-31T23:59:59.999999Z", "value": -2, "unit": ""},
    ]}).encode()
    fast = parse_json(body)
    assert fast == _slow(body)
    assert fast.ts_us == [1_796_025_600_123_456, 1_796_025_600_000_000, -1]  # 2026-11-30T08:00Z = 1796025600 s
    assert fast.units == [None, "ppm", None] and fast.indexes == [0, 1, 2] and not fast.rejected


def test_one_reading_not_plainly_valid_takes_the_per_reading_path() -> None:
    readings = [{"sensor": 7, "ts": "2026-11-30T08:00:00+00:00", "value": 0.5}] * 3
    for bad, reason in (({"sensor": "x7"}, "schema"), ({"ts": "2026-11-30T08:00:00"}, "schema"),
                        ({"sensor": parse.MAX_ID + 1}, "schema"), ({"sensor": "7"}, None)):
        body = json.dumps({"readings": [readings[0], {**readings[1], **bad}, readings[2]]}).encode()
        parsed = parse_json(body)
        assert parsed == _slow(body)
        if reason is None:  # a numeric string id is accepted on the per-reading path
            assert parsed.sensors == [7, 7, 7] and not parsed.rejected
        else:
            assert parsed.indexes == [0, 2] and [(i, r) for i, r, _ in parsed.rejected] == [(1, reason)]
