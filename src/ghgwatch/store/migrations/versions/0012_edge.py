"""edge gateways: devices.gateway, edge_events

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('gateway', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('edge_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_edge_events_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_edge_events_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_edge_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edge_events')),
    sa.UniqueConstraint('device_id', 'event_id', name=op.f('uq_edge_events_device_id_event_id'))
    )
    op.create_index(op.f('ix_edge_events_organization_id'), 'edge_events', ['organization_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_edge_events_organization_id'), table_name='edge_events')
    op.drop_table('edge_events')
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('gateway')
