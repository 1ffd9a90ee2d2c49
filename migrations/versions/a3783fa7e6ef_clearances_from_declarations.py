"""Clearances recorded from declarations' 结关 receipts: their source and declaration

Revision ID: a3783fa7e6ef
Revises: b4196d9f5287
Create Date: 2026-12-05 02:58:54.231777

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3783fa7e6ef'
down_revision = 'b4196d9f5287'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('me_clearance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('declaration_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_me_clearance_declaration_id', ['declaration_id'])
        batch_op.create_foreign_key('fk_me_clearance_declaration_id', 'cd_declaration',
                                    ['declaration_id'], ['id'])
    op.execute("UPDATE me_clearance SET source = 'manual'")


def downgrade():
    with op.batch_alter_table('me_clearance', schema=None) as batch_op:
        batch_op.drop_constraint('fk_me_clearance_declaration_id', type_='foreignkey')
        batch_op.drop_constraint('uq_me_clearance_declaration_id', type_='unique')
        batch_op.drop_column('declaration_id')
        batch_op.drop_column('source')
