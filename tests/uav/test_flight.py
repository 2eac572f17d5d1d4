from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

from ghgwatch.uav import REQUIRED, Flight, FlightFileError, flight_to_csv, parse_flight, read_flight

HEADER = ",".join(REQUIRED)


def test_csv_round_trip_keeps_the_samples(small_flight: Flight) -> None:
    again = parse_flight(flight_to_csv(small_flight).encode())
    assert len(again) == len(small_flight)
    assert np.allclose(again.ch4_ppm, small_flight.ch4_ppm, rtol=1e-4)
    assert np.allclose(again.latitude, small_flight.latitude, atol=1e-7)
    assert again.started_at == small_flight.started_at


def test_bad_rows_are_reported_by_row_number() -> None:
    text = "\n".join([
        HEADER,
        "2026-06-01T09:00:00Z,54.0,86.7,5,3,270,10,1000,1.9",
        "yesterday,54.0,86.7,5,3,270,10,1000,1.9",
        "2026-06-01T09:00:02Z,54.0,86.7,5,3,270,10,1000,",
        "2026-06-01T09:00:03Z,54.0,86.7,5,3,270,10,100,1.9",
    ])
    with pytest.raises(FlightFileError) as caught:
        parse_flight(text.encode())
    rows = {row: message for row, message in caught.value.errors}
    assert set(rows) == {3, 4, 5}
    assert "timestamp" in rows[3]
    assert "ch4_ppm: empty" in rows[4]
    assert "pressure_hpa" in rows[5]


def test_a_missing_column_is_named() -> None:
    with pytest.raises(FlightFileError, match="ch4_ppm"):
        parse_flight(b"timestamp,latitude,longitude,altitude_m,wind_speed_ms,wind_dir_deg,temperature_c,pressure_hpa\n")


def test_xlsx_with_the_same_columns(tmp_path: Path, small_flight: Flight) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    rows = small_flight.rows()
    sheet.append(list(rows[0]))
    for row in rows[:50]:
        sheet.append(list(row.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "flight.xlsx"
    path.write_bytes(buffer.getvalue())
    flight = read_flight(path)
    assert len(flight) == 50
    assert np.allclose(flight.wind_speed_ms, small_flight.wind_speed_ms[:50])
