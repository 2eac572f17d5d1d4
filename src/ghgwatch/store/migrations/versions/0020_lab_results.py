"""lab results and measured emissions: lab_results, measured_emissions

Revision ID: 0020
Revises: 0018
Create Date: 2026-11-30 02:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0020'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('lab_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('sample_id', sa.String(length=100), nullable=False),
    sa.Column('sampled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gas', sa.String(length=10), nullable=False),
    sa.Column('concentration', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=True),
    sa.Column('laboratory', sa.String(length=200), nullable=True),
    sa.Column('certificate', sa.String(length=100), nullable=True),
    sa.Column('flags', _json(), nullable=False),
    sa.Column('checks', _json(), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('file_row', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_lab_results_facility_id_facilities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_lab_results_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['emission_sources.id'], name=op.f('fk_lab_results_source_id_emission_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_results')),
    sa.UniqueConstraint('organization_id', 'sample_id', 'gas', name=op.f('uq_lab_results_organization_id_sample_id_gas'))
    )
    op.create_index('ix_lab_results_org_sampled', 'lab_results', ['organization_id', 'sampled_at'], unique=False)
    op.create_index(op.f('ix_lab_results_facility_id'), 'lab_results', ['facility_id'], unique=False)
    op.create_index(op.f('ix_lab_results_source_id'), 'lab_results', ['source_id'], unique=False)
    op.create_table('measured_emissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('flight_id', sa.Integer(), nullable=True),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('gas', sa.String(length=10), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('rate_kg_h', sa.Float(), nullable=False),
    sa.Column('lower_kg_h', sa.Float(), nullable=False),
    sa.Column('upper_kg_h', sa.Float(), nullable=False),
    sa.Column('ch4_kg', sa.Float(), nullable=False),
    sa.Column('lower_kg', sa.Float(), nullable=False),
    sa.Column('upper_kg', sa.Float(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_measured_emissions_facility_id_facilities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['flight_id'], ['uav_flights.id'], name=op.f('fk_measured_emissions_flight_id_uav_flights'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_measured_emissions_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['emission_sources.id'], name=op.f('fk_measured_emissions_source_id_emission_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measured_emissions'))
    )
    op.create_index('ix_measured_emissions_org_start', 'measured_emissions', ['organization_id', 'start'], unique=False)
    op.create_index(op.f('ix_measured_emissions_facility_id'), 'measured_emissions', ['facility_id'], unique=False)
    op.create_index(op.f('ix_measured_emissions_source_id'), 'measured_emissions', ['source_id'], unique=False)
    op.create_index(op.f('ix_measured_emissions_flight_id'), 'measured_emissions', ['flight_id'], unique=False)


def downgrade() -> None:
    op.drop_table('measured_emissions')
    op.drop_table('lab_results')
