"""Alembic environment: runs migrations on the async engine of the configured URL."""

from __future__ import annotations

import asyncio
import re

from alembic import context
from sqlalchemy.engine import Connection

from ghgwatch.store import models  # noqa: F401  (fills the metadata)
from ghgwatch.store.base import Base
from ghgwatch.store.dialect import create_engine

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave the daily partitions of ``readings`` (PostgreSQL, created at run time) out of autogenerate."""
    return not (type_ == "table" and name is not None and re.fullmatch(r"readings_p\d{8}", name))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))


run_migrations_online()
