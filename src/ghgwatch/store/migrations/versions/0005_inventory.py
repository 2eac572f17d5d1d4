"""inventory: activity data, factor sets, mine methane table, inventory runs

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22 (written by hand)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('factor_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('values', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_factor_sets_organization_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_factor_sets')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_factor_sets_name_version'))
    )
    with op.batch_alter_table('factor_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_factor_sets_organization_id'), ['organization_id'], unique=False)

    op.create_table('inventory_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('methodology', sa.String(length=40), nullable=False),
    sa.Column('methodology_version', sa.String(length=40), nullable=False),
    sa.Column('gwp', sa.String(length=40), nullable=False),
    sa.Column('factor_sets', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('code_version', sa.String(length=40), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('include_measured', sa.Boolean(), nullable=False),
    sa.Column('total_co2e_t', sa.Double(), nullable=False),
    sa.Column('regulated_296fz', sa.Boolean(), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('comparison', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_inventory_runs_organization_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_runs'))
    )
    with op.batch_alter_table('inventory_runs', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_runs_org_year', ['organization_id', 'year'], unique=False)

    op.create_table('mine_methane',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('gem_mine_id', sa.String(length=20), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('absolute_m3_min', sa.Double(), nullable=True),
    sa.Column('relative_m3_t', sa.Double(), nullable=True),
    sa.Column('seam_gas_m3_t', sa.Double(), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_mine_methane_facility_id_facilities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mine_methane'))
    )
    with op.batch_alter_table('mine_methane', schema=None) as batch_op:
        batch_op.create_index('ix_mine_methane_facility_year', ['facility_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_mine_methane_gem_mine_id'), ['gem_mine_id'], unique=False)

    op.create_table('activity_data',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('activity_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('provenance', sa.String(length=500), nullable=True),
    sa.Column('comment', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_activity_data_facility_id_facilities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_activity_data_organization_id_organizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_id'], ['emission_sources.id'], name=op.f('fk_activity_data_source_id_emission_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_data'))
    )
    with op.batch_alter_table('activity_data', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_data_activity_type'), ['activity_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_data_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index('ix_activity_data_org_period', ['organization_id', 'period_start'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('activity_data', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_data_org_period')
        batch_op.drop_index(batch_op.f('ix_activity_data_facility_id'))
        batch_op.drop_index(batch_op.f('ix_activity_data_activity_type'))

    op.drop_table('activity_data')
    with op.batch_alter_table('mine_methane', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mine_methane_gem_mine_id'))
        batch_op.drop_index('ix_mine_methane_facility_year')

    op.drop_table('mine_methane')
    with op.batch_alter_table('inventory_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_runs_org_year')

    op.drop_table('inventory_runs')
    with op.batch_alter_table('factor_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_factor_sets_organization_id'))

    op.drop_table('factor_sets')
