"""The one reader of time-series files (``kit.tables``) and the cell parsers under it (``kit.values``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook

from ghgwatch.kit.tables import InputError, read_table
from ghgwatch.kit.values import format_moment, parse_moment, parse_number


@pytest.mark.parametrize(
    ("text", "number"),
    [("1.5", 1.5), ("1,5", 1.5), ("1 234,5", 1234.5), ("1\u00a0234,5", 1234.5), ("1.234,5", 1234.5),
     ("1,234.5", 1234.5), ("-0,004", -0.004), ("2e-3", 0.002), (7, 7.0)],
)
def test_numbers_as_exports_write_them(text: object, number: float) -> None:
    assert parse_number(text) == pytest.approx(number)


def test_not_a_number() -> None:
    with pytest.raises(ValueError, match="could not convert"):
        parse_number("abc")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("29.11.2026 14:05", datetime(2026, 11, 29, 14, 5)),  # noqa: DTZ001
        ("29.11.2026 14:05:07", datetime(2026, 11, 29, 14, 5, 7)),  # noqa: DTZ001
        ("29.11.2026", datetime(2026, 11, 29)),  # noqa: DTZ001
        ("29.11.26 14:05:07,250", datetime(2026, 11, 29, 14, 5, 7, 250000)),  # noqa: DTZ001
        ("2026-11-29T14:05:00Z", datetime(2026, 11, 29, 14, 5, tzinfo=UTC)),
        ("2026-11-29 14:05:00+03:00", datetime(2026, 11, 29, 14, 5, tzinfo=timezone(timedelta(hours=3)))),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_times_as_exports_write_them(text: str, moment: datetime) -> None:
    parsed = parse_moment(text)
    assert parsed == moment and parsed.utcoffset() == moment.utcoffset()


def test_format_keeps_the_zone() -> None:
    assert format_moment(parse_moment("2026-11-29T14:05:00Z")) == "2026-11-29T14:05:00Z"
    assert format_moment(parse_moment("29.11.2026 14:05 +03:00")) == "2026-11-29T14:05:00+03:00"
    assert format_moment(parse_moment("29.11.2026 14:05")) == "2026-11-29T14:05:00"


def test_offsets_one_kept_several_to_utc_mixed_refused(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text("timestamp,value\n2026-03-01T00:00:00+03:00,1\n2026-03-01T01:00:00+03:00,2\n")
    assert str(read_table(path, required=("value",)).index.tz) == "UTC+03:00"
    path.write_text("timestamp,value\n2026-03-01T00:00:00+03:00,1\n2026-03-01T02:00:00+04:00,2\n")
    index = read_table(path, required=("value",)).index
    assert str(index.tz) == "UTC" and index[1].hour == 22
    path.write_text("timestamp,value\n2026-03-01T00:00:00+03:00,1\n\n2026-03-01T01:00:00,2\n")
    with pytest.raises(InputError, match=r"row 4, column 'timestamp': a time without a time zone, unlike row 2"):
        read_table(path, required=("value",))


def test_russian_headers_split_date_time_text_columns_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("Дата;Время;Значение;Примечание\n29.11.2026;14:05;0,5;ок\n29.11.2026;14:10;0,6;ок\n")
    table = read_table(path, required=("value",))
    assert list(table.columns) == ["value"]  # the text column is dropped
    assert table.index[1] == datetime(2026, 11, 29, 14, 10)  # noqa: DTZ001
    path.write_text("время,значение\n29.11.2026 14:05,1\n29.11.2026 14:10,2,3\n")
    with pytest.raises(InputError, match=r"row 3: expected 2 fields, found 3"):
        read_table(path, required=("value",))
    with pytest.raises(InputError, match=r"row 1, column 'ch4': missing column \(found: время, значение\)"):
        read_table(path, required=("ch4",))


def test_xlsx_with_real_datetimes(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Время", "Значение"])
    sheet.append([datetime(2026, 11, 29, 14, 0), 0.5])  # noqa: DTZ001
    sheet.append([None, None])  # a blank row keeps the numbering
    sheet.append([datetime(2026, 11, 29, 14, 5), "x"])  # noqa: DTZ001
    book.save(tmp_path / "s.xlsx")
    with pytest.raises(InputError, match=r"s.xlsx, row 4, column 'Значение': 'x' is not a number"):
        read_table(tmp_path / "s.xlsx", required=("value",))


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.csv: the file is empty"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "b.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"b\.xlsx: cannot read the file as xlsx"):
        read_table(tmp_path / "b.xlsx")
