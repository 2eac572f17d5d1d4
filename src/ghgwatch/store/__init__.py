"""Persistence: one SQLAlchemy schema for SQLite and PostgreSQL, Alembic migrations in the package."""

from ghgwatch.store._turn import URGENT_SUFFIX, WRITING_SUFFIX
from ghgwatch.store.base import Base
from ghgwatch.store.engine import Database, open_database

TURN_FILE_SUFFIXES = (URGENT_SUFFIX, WRITING_SUFFIX)
"""The write turn's lock files beside a SQLite database (``<db><suffix>``, store/_turn.py)."""

__all__ = ["TURN_FILE_SUFFIXES", "Base", "Database", "open_database"]
