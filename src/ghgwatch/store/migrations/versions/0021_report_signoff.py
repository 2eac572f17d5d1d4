"""report sign-off: inventory_reports, inventory_report_files

Revision ID: 0021
Revises: 0015
Create Date: 2026-11-30 04:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0021'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('inventory_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.String(length=2000), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('parameters', _json(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('total_co2e_t', sa.Float(), nullable=False),
    sa.Column('differences', _json(), nullable=True),
    sa.Column('prepared_by', sa.String(length=120), nullable=False),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.String(length=2000), nullable=True),
    sa.Column('approved_by', sa.String(length=120), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seal_sha256', sa.String(length=64), nullable=True),
    sa.Column('submitted_by', sa.String(length=120), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_inventory_reports_organization_id_organizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['previous_id'], ['inventory_reports.id'], name=op.f('fk_inventory_reports_previous_id_inventory_reports'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['run_id'], ['inventory_runs.id'], name=op.f('fk_inventory_reports_run_id_inventory_runs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reports')),
    sa.UniqueConstraint('previous_id', name=op.f('uq_inventory_reports_previous_id'))
    )
    op.create_index('ix_inventory_reports_org_year', 'inventory_reports', ['organization_id', 'year'], unique=False)
    op.create_index(op.f('ix_inventory_reports_state'), 'inventory_reports', ['state'], unique=False)
    op.create_table('inventory_report_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_inventory_report_files_organization_id_organizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['report_id'], ['inventory_reports.id'], name=op.f('fk_inventory_report_files_report_id_inventory_reports'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_report_files')),
    sa.UniqueConstraint('report_id', 'name', name=op.f('uq_inventory_report_files_report_id_name'))
    )
    op.create_index(op.f('ix_inventory_report_files_report_id'), 'inventory_report_files', ['report_id'], unique=False)
    op.create_index(op.f('ix_inventory_report_files_organization_id'), 'inventory_report_files', ['organization_id'], unique=False)


def downgrade() -> None:
    op.drop_table('inventory_report_files')
    op.drop_table('inventory_reports')
