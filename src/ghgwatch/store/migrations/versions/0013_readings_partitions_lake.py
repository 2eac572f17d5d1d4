"""readings partitioned by day on PostgreSQL; data lake ledger

Revision ID: 0013
Revises: 0006
Create Date: 2026-11-29 17:30:00

On PostgreSQL ``readings`` becomes ``PARTITION BY RANGE (ts)`` with one partition per UTC day
(``readings_pYYYYMMDD``): the rows there are moved into partitions of their days. Further partitions are
created ahead by the lifecycle job and on demand by the pipeline. SQLite keeps one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_US = 86_400_000_000


def _partition(day: int) -> str:
    return f"readings_p{date(1970, 1, 1) + timedelta(days=day):%Y%m%d}"


def upgrade() -> None:
    op.create_table('lake_exports',
    sa.Column('organization_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('min_ts', sa.BigInteger(), nullable=False),
    sa.Column('max_ts', sa.BigInteger(), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organization_id', 'day', name=op.f('pk_lake_exports'))
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE readings RENAME TO readings_unpartitioned")
    op.execute("ALTER TABLE readings_unpartitioned RENAME CONSTRAINT pk_readings TO pk_readings_unpartitioned")
    op.execute("CREATE TABLE readings (sensor_id integer NOT NULL, ts bigint NOT NULL, value float8 NOT NULL, "
               "quality smallint NOT NULL, CONSTRAINT pk_readings PRIMARY KEY (sensor_id, ts)) PARTITION BY RANGE (ts)")
    days = op.get_bind().execute(sa.text(
        f"SELECT DISTINCT ts / {DAY_US} - CASE WHEN ts < 0 AND ts % {DAY_US} <> 0 THEN 1 ELSE 0 END "
        "FROM readings_unpartitioned")).scalars().all()
    for day in sorted(int(d) for d in days):
        op.execute(f"CREATE TABLE {_partition(day)} PARTITION OF readings "
                   f"FOR VALUES FROM ({day * DAY_US}) TO ({(day + 1) * DAY_US})")
    op.execute("INSERT INTO readings SELECT sensor_id, ts, value, quality FROM readings_unpartitioned")
    op.execute("DROP TABLE readings_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE readings RENAME TO readings_partitioned")
        op.execute("ALTER TABLE readings_partitioned RENAME CONSTRAINT pk_readings TO pk_readings_partitioned")
        op.execute("CREATE TABLE readings (sensor_id integer NOT NULL, ts bigint NOT NULL, value float8 NOT NULL, "
                   "quality smallint NOT NULL, CONSTRAINT pk_readings PRIMARY KEY (sensor_id, ts))")
        op.execute("INSERT INTO readings SELECT sensor_id, ts, value, quality FROM readings_partitioned")
        op.execute("DROP TABLE readings_partitioned")  # its partitions go with it
    op.drop_table('lake_exports')
