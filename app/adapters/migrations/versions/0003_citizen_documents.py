"""The citizen's document store (Kho dữ liệu của công dân): originals filed and certified copies returned

Revision ID: 0003_citizen_documents
Revises: 0002_postal_delivery
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_citizen_documents'
down_revision = '0002_postal_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citizen_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('certification_number', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('citizen_id', 'kind', 'sha256', name='uq_citizen_documents_citizen_kind_sha256')
    )
    with op.batch_alter_table('citizen_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_documents_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizen_documents_dossier_id'), ['dossier_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('citizen_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_documents_dossier_id'))
        batch_op.drop_index(batch_op.f('ix_citizen_documents_citizen_id'))
    op.drop_table('citizen_documents')
