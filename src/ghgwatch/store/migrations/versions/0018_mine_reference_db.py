"""mine reference database: ref_mines, ref_mine_years, ref_seams, seeded from the shipped GEM files

Revision ID: 0018
Revises: 0012
Create Date: 2026-11-29 (written by hand)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0018'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def _versioned(table: str) -> list[sa.Column[Any]]:
    return [
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('record_key', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('is_current', sa.Boolean(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('organization_id', sa.Integer(),
                  sa.ForeignKey('organizations.id', ondelete='RESTRICT',
                                name=f'fk_{table}_organization_id_organizations'), nullable=True),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=500), nullable=False),
        sa.Column('data_status', sa.String(length=12), nullable=False),
        sa.Column('cell_status', JSON, nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    mines = op.create_table(
        'ref_mines', *_versioned('ref_mines'),
        sa.Column('gem_id', sa.String(length=20), nullable=True),
        sa.Column('name_en', sa.String(length=200), nullable=False),
        sa.Column('name_ru', sa.String(length=200), nullable=True),
        sa.Column('district', sa.String(length=200), nullable=True),
        sa.Column('coalfield', sa.String(length=200), nullable=True),
        sa.Column('in_kuzbass', sa.Boolean(), nullable=False),
        sa.Column('owner', sa.String(length=300), nullable=True),
        sa.Column('parent', sa.String(length=300), nullable=True),
        sa.Column('mine_status', sa.String(length=40), nullable=True),
        sa.Column('mining_method', sa.String(length=40), nullable=True),
        sa.Column('depth_m', sa.Double(), nullable=True),
        sa.Column('latitude', sa.Double(), nullable=True),
        sa.Column('longitude', sa.Double(), nullable=True),
        sa.Column('opening_year', sa.Integer(), nullable=True),
        sa.Column('closing_year', sa.Integer(), nullable=True),
        sa.Column('capacity_mt', sa.Double(), nullable=True),
        sa.Column('url', sa.String(length=300), nullable=True),
    )
    op.create_index('ix_ref_mines_key_current', 'ref_mines', ['record_key', 'is_current'])
    op.create_index('ix_ref_mines_gem_id', 'ref_mines', ['gem_id'])
    years = op.create_table(
        'ref_mine_years', *_versioned('ref_mine_years'),
        sa.Column('mine_key', sa.String(length=40), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('production_t', sa.Double(), nullable=True),
        sa.Column('methane_vent_m3_min', sa.Double(), nullable=True),
        sa.Column('methane_drain_m3_min', sa.Double(), nullable=True),
        sa.Column('methane_total_m3_min', sa.Double(), nullable=True),
        sa.Column('relative_m3_t', sa.Double(), nullable=True),
        sa.Column('drained_m3', sa.Double(), nullable=True),
        sa.Column('utilised_m3', sa.Double(), nullable=True),
    )
    op.create_index('ix_ref_mine_years_mine_year', 'ref_mine_years', ['mine_key', 'year'])
    op.create_index('ix_ref_mine_years_key_current', 'ref_mine_years', ['record_key', 'is_current'])
    op.create_table(
        'ref_seams', *_versioned('ref_seams'),
        sa.Column('mine_key', sa.String(length=40), nullable=False),
        sa.Column('seam_index', sa.String(length=40), nullable=False),
        sa.Column('depth_from_m', sa.Double(), nullable=True),
        sa.Column('depth_to_m', sa.Double(), nullable=True),
        sa.Column('gas_content_m3_t_daf', sa.Double(), nullable=True),
        sa.Column('ash_pct', sa.Double(), nullable=True),
        sa.Column('moisture_pct', sa.Double(), nullable=True),
    )
    op.create_index('ix_ref_seams_mine', 'ref_seams', ['mine_key'])
    op.create_index('ix_ref_seams_key_current', 'ref_seams', ['record_key', 'is_current'])

    # Public seed: every Russian mine of the shipped GEM files (real values only, see minedb.seed).
    from ghgwatch.kit.timeutil import utcnow
    from ghgwatch.reference.minedb.seed import seed_rows

    mine_rows, year_rows = seed_rows()
    now = utcnow()
    op.bulk_insert(mines, [{**r, "created_at": now} for r in mine_rows])
    op.bulk_insert(years, [{**r, "created_at": now} for r in year_rows])


def downgrade() -> None:
    op.drop_table('ref_seams')
    op.drop_table('ref_mine_years')
    op.drop_table('ref_mines')
