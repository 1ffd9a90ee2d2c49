"""submission keys of new forms

Revision ID: 7660803eb405
Revises: aae68f1bdac1
Create Date: 2026-12-07 08:23:38.305938

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7660803eb405'
down_revision = 'aae68f1bdac1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission_key',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('resource', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('submission_key')
