"""security: seen_signatures (shared replay memory); room for encrypted device and webhook secrets

Revision ID: 0016
Revises: 0012
Create Date: 2026-11-29 21:00:00

Device HMAC secrets and webhook secrets are now stored encrypted (``enc:v1:<Fernet token>``), which is longer
than the clear text: the columns grow. Rows written in clear keep working (read as they are) until re-saved.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('seen_signatures',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_seen_signatures'))
    )
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_signatures_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('devices') as batch:
        batch.alter_column('hmac_secret', type_=sa.String(length=500), existing_type=sa.String(length=100),
                           existing_nullable=False)
    with op.batch_alter_table('notification_routes') as batch:
        batch.alter_column('secret', type_=sa.String(length=1000), existing_type=sa.String(length=200),
                           existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('notification_routes') as batch:
        batch.alter_column('secret', type_=sa.String(length=200), existing_type=sa.String(length=1000),
                           existing_nullable=True)
    with op.batch_alter_table('devices') as batch:
        batch.alter_column('hmac_secret', type_=sa.String(length=100), existing_type=sa.String(length=500),
                           existing_nullable=False)
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_signatures_expires_at'))
    op.drop_table('seen_signatures')
