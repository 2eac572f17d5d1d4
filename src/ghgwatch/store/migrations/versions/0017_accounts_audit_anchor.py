"""accounts and audit anchoring: users.token_version, audit_log.mac, audit_head.mac

Revision ID: 0017
Revises: 0012
Create Date: 2026-11-29 21:00:00

``users.token_version`` is carried in every access token and bumped by deactivation, a role or password
change and an explicit revocation, so that older tokens stop working. ``audit_log.mac`` and
``audit_head.mac`` hold an HMAC of each entry's hash (and of the head) under a key kept outside the
database (``security.audit_key``), so that a chain rebuilt by someone with write access to the database
but without the key is detected by ``ghgwatch audit verify``. Entries written before this revision have
no MAC until ``ghgwatch audit anchor`` is run once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_head') as batch:
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('mac')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('mac')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('token_version')
