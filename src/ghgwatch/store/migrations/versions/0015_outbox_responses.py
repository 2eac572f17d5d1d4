"""outbox of notifications and commands; response rules, commands and work orders

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-29 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql')


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table('response_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('source_type', sa.String(length=40), nullable=True),
    sa.Column('min_severity', sa.String(length=10), nullable=False),
    sa.Column('on_escalation', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=True),
    sa.Column('equipment', sa.String(length=120), nullable=True),
    sa.Column('command_url', sa.String(length=500), nullable=True),
    sa.Column('secret', sa.String(length=500), nullable=True),
    sa.Column('ack_timeout_s', sa.Float(), nullable=False),
    sa.Column('done_timeout_s', sa.Float(), nullable=False),
    sa.Column('work_order', sa.Boolean(), nullable=False),
    sa.Column('work_order_assignee', sa.String(length=120), nullable=True),
    sa.Column('work_order_due_s', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    _fk('response_rules', 'facility_id', 'facilities', 'CASCADE'),
    _fk('response_rules', 'organization_id', 'organizations', 'CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_rules')),
    )
    op.create_index(op.f('ix_response_rules_organization_id'), 'response_rules', ['organization_id'], unique=False)
    op.create_table('response_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('equipment', sa.String(length=120), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.Column('sent_at', _TS, nullable=True),
    sa.Column('acknowledged_at', _TS, nullable=True),
    sa.Column('finished_at', _TS, nullable=True),
    sa.Column('ack_deadline', _TS, nullable=False),
    sa.Column('done_deadline', _TS, nullable=True),
    _fk('response_commands', 'alert_id', 'alerts', 'CASCADE'),
    _fk('response_commands', 'organization_id', 'organizations', 'CASCADE'),
    _fk('response_commands', 'rule_id', 'response_rules', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_commands')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_response_commands_idempotency_key')),
    )
    for column in ('organization_id', 'alert_id', 'status'):
        op.create_index(op.f(f'ix_response_commands_{column}'), 'response_commands', [column], unique=False)
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('response_rule_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('assignee', sa.String(length=120), nullable=True),
    sa.Column('due_at', _TS, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('started_at', _TS, nullable=True),
    sa.Column('done_at', _TS, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    _fk('work_orders', 'alert_id', 'alerts', 'SET NULL'),
    _fk('work_orders', 'facility_id', 'facilities', 'SET NULL'),
    _fk('work_orders', 'organization_id', 'organizations', 'CASCADE'),
    _fk('work_orders', 'response_rule_id', 'response_rules', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    )
    for column in ('organization_id', 'alert_id', 'status'):
        op.create_index(op.f(f'ix_work_orders_{column}'), 'work_orders', [column], unique=False)
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=True),
    sa.Column('command_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', _JSON, nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', _TS, nullable=False),
    sa.Column('lease_until', _TS, nullable=True),
    sa.Column('lease_owner', sa.String(length=40), nullable=True),
    sa.Column('last_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('delivered_at', _TS, nullable=True),
    _fk('outbox_messages', 'alert_id', 'alerts', 'CASCADE'),
    _fk('outbox_messages', 'command_id', 'response_commands', 'CASCADE'),
    _fk('outbox_messages', 'organization_id', 'organizations', 'CASCADE'),
    _fk('outbox_messages', 'route_id', 'notification_routes', 'CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_messages_idempotency_key')),
    )
    for column in ('organization_id', 'route_id', 'command_id', 'alert_id'):
        op.create_index(op.f(f'ix_outbox_messages_{column}'), 'outbox_messages', [column], unique=False)
    op.create_index('ix_outbox_messages_status_next_attempt_at', 'outbox_messages', ['status', 'next_attempt_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('outbox_messages')
    op.drop_table('work_orders')
    op.drop_table('response_commands')
    op.drop_table('response_rules')
