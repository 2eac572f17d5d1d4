"""alerts: late flag, one unresolved alert per (sensor, rule)

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-29 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNRESOLVED = sa.text("state != 'resolved'")


def upgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('late', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Older databases may hold duplicates from a lost race: keep the newest unresolved row of each pair open.
    op.execute("UPDATE alerts SET state = 'resolved' WHERE state != 'resolved' AND id NOT IN "
               "(SELECT MAX(id) FROM alerts WHERE state != 'resolved' GROUP BY sensor_id, rule_id)")
    op.create_index('uq_alerts_one_unresolved', 'alerts', ['sensor_id', 'rule_id'], unique=True,
                    sqlite_where=_UNRESOLVED, postgresql_where=_UNRESOLVED)


def downgrade() -> None:
    op.drop_index('uq_alerts_one_unresolved', table_name='alerts')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('late')
