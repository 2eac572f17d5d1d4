"""Input and output of the file-based analytics commands: the one reader of time-series files
(:mod:`ghgwatch.kit.tables`, shared with ``ghgwatch detect``) and the writers (:mod:`ghgwatch.kit.table_out`)."""

from __future__ import annotations

from ghgwatch.kit.table_out import jsonable, output_format, write_frame, write_json, write_report
from ghgwatch.kit.tables import InputError, read_table

__all__ = ["InputError", "jsonable", "output_format", "read_table", "write_frame", "write_json", "write_report"]
