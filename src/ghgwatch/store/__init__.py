"""Persistence: one SQLAlchemy schema for SQLite and PostgreSQL, Alembic migrations in the package."""

from ghgwatch.store.base import Base
from ghgwatch.store.engine import Database, open_database

__all__ = ["Base", "Database", "open_database"]
