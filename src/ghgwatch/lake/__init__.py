"""The data lake: closed days of raw readings as Parquet (local folder or S3), read back through DuckDB."""
