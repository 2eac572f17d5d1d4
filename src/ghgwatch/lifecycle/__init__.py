"""Data lifecycle: partitions ahead, closed days exported to the data lake, retention of every table."""
