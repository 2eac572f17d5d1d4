"""Stored time series: readings, rollups, latest values, dead letters, and their queries."""
