"""Migrations upgrade an empty database and one at the previous revision, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from ghgwatch.store import models  # noqa: F401
from ghgwatch.store.base import Base
from ghgwatch.store.dialect import sync_url
from ghgwatch.store.migrate import alembic_config, current, downgrade, upgrade
from tests.support import postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    admin: str = request.getfixturevalue("pg_admin_url")
    name = f"ghgwatch_mig_{uuid.uuid4().hex[:8]}"
    yield postgres.asyncpg_url(postgres.create_database(admin, name))
    postgres.drop_database(admin, name)


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_upgrade_empty_database_matches_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert current(empty_url) == _revisions()[-1]
    engine = create_engine(sync_url(empty_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_from_previous_revision_keeps_data(empty_url: str) -> None:
    revisions = _revisions()
    assert len(revisions) >= 2
    upgrade(empty_url, revisions[-2])
    engine = create_engine(sync_url(empty_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO organizations (name, created_at, updated_at) "
                              "VALUES ('Kept', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        upgrade(empty_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM organizations")).scalars().all() == ["Kept"]
            assert set(inspect(conn).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()
    assert current(empty_url) == revisions[-1]


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    assert current(empty_url) is None
    upgrade(empty_url)
    assert current(empty_url) == _revisions()[-1]
