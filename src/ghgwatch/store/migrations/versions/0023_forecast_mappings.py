"""forecast mappings: which stored sensors feed a facility's multivariate forecast (issue 14 item 5)

Revision ID: 0023
Revises: 0021
Create Date: 2026-11-30 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('forecast_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('target_sensor_id', sa.Integer(), nullable=False),
    sa.Column('inputs', _JSON, nullable=False),
    sa.Column('horizon_min', sa.Integer(), nullable=False),
    sa.Column('lags', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('interval', sa.Float(), nullable=False),
    sa.Column('window_hours', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'],
                            name=op.f('fk_forecast_mappings_facility_id_facilities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                            name=op.f('fk_forecast_mappings_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast_mappings')),
    sa.UniqueConstraint('facility_id', 'name', name=op.f('uq_forecast_mappings_facility_id_name'))
    )
    with op.batch_alter_table('forecast_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forecast_mappings_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_forecast_mappings_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_forecast_mappings_target_sensor_id'), ['target_sensor_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('forecast_mappings')
