"""uav flights: uav_flights (track and quantification per facility)

Revision ID: 0019
Revises: 0012
Create Date: 2026-11-30 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0019'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('uav_flights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('track', _json(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('rate_kg_h', sa.Float(), nullable=True),
    sa.Column('lower_kg_h', sa.Float(), nullable=True),
    sa.Column('upper_kg_h', sa.Float(), nullable=True),
    sa.Column('background_ppm', sa.Float(), nullable=True),
    sa.Column('source_latitude', sa.Float(), nullable=True),
    sa.Column('source_longitude', sa.Float(), nullable=True),
    sa.Column('transects', sa.Integer(), nullable=True),
    sa.Column('warnings', _json(), nullable=False),
    sa.Column('refusal', sa.String(length=40), nullable=True),
    sa.Column('refusal_reason', sa.String(length=1000), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_uav_flights_facility_id_facilities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_uav_flights_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['emission_sources.id'], name=op.f('fk_uav_flights_source_id_emission_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uav_flights'))
    )
    op.create_index(op.f('ix_uav_flights_organization_id'), 'uav_flights', ['organization_id'], unique=False)
    op.create_index(op.f('ix_uav_flights_facility_id'), 'uav_flights', ['facility_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_uav_flights_facility_id'), table_name='uav_flights')
    op.drop_index(op.f('ix_uav_flights_organization_id'), table_name='uav_flights')
    op.drop_table('uav_flights')
