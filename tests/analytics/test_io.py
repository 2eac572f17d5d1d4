from __future__ import annotations

from pathlib import Path

import pytest

from ghgwatch.analytics.io import InputError, read_table


def test_non_numeric_cell_names_file_row_and_column(fixtures_dir: Path) -> None:
    path = fixtures_dir / "bad_value.csv"
    with pytest.raises(InputError) as info:
        read_table(path, required=("value",))
    assert info.value.row == 4
    assert info.value.column == "value"
    assert str(info.value).startswith(f"{path}, row 4, column 'value': 'abc' is not a number")


def test_missing_column_bad_timestamp_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("timestamp,level\n2024-01-01,1\n2024-01-02,2\n")
    with pytest.raises(InputError, match="column 'value': missing column"):
        read_table(path, required=("value",))
    path.write_text("timestamp,value\n2024-01-01,1\nyesterday,2\n")
    with pytest.raises(InputError, match="row 3, column 'timestamp'"):
        read_table(path, required=("value",))
    path.write_text("timestamp,value,label\n2024-01-02,,a\n2024-01-01,1,b\n2024-01-03,NaN,c\n")
    table = read_table(path, required=("value",))
    assert list(table.columns) == ["value"]  # the text column is dropped
    assert table.index.is_monotonic_increasing
    assert int(table["value"].isna().sum()) == 2


def test_duplicate_timestamp_keeps_the_first_with_a_warning_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("timestamp,value\n2024-01-01,1\n2024-01-01,2\n2024-01-02,3\n")
    warnings: list[str] = []
    table = read_table(path, required=("value",), warnings=warnings)
    assert table["value"].tolist() == [1.0, 3.0]
    assert warnings == [
        f"{path}, row 3, column 'timestamp': repeats the time of row 2; the first is kept, this row is dropped"
    ]
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
