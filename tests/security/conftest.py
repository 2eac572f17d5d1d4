"""The whole platform in one process for the security tests (API, bus, pipeline, alerts, analytics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform


@pytest.fixture
async def platform(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[Platform]:
    """As ``ghgwatch up`` runs it, on the embedded bus; both databases."""
    del db  # truncates PostgreSQL afterwards
    async for p in _platform(tmp_path, db_url, "embedded:"):
        yield p
