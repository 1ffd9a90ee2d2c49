"""security stamp: cross-process invalidation of cached users and permissions

Revision ID: 5c0e4a7d2b19
Revises: 2f40ed9d59f0
Create Date: 2026-11-25 18:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c0e4a7d2b19'
down_revision = '2f40ed9d59f0'
branch_labels = None
depends_on = None


def upgrade():
    stamp = op.create_table(
        'security_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(stamp, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('security_stamp')
