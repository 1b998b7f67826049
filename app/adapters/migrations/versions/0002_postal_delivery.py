"""Postal delivery of the result: the address, a phone for the postman, the postal item number at return

Revision ID: 0002_postal_delivery
Revises: 0001_baseline
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_postal_delivery'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postal_address', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('postal_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('postal_tracking', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_column('postal_tracking')
        batch_op.drop_column('postal_phone')
        batch_op.drop_column('postal_address')
