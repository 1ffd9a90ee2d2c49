"""exceptions: indexes of 责任岗位 and 海关是否处罚 (异常统计 counts by them and links to the list
filtered by them)

Revision ID: 1c0225f82add
Revises: 3d7d65dacd39
Create Date: 2026-12-05 10:03:06.116128

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1c0225f82add'
down_revision = '3d7d65dacd39'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cd_declaration_exception', schema=None) as batch_op:
        batch_op.create_index('ix_cd_declaration_exception_duty_post_search', ['duty_post'], unique=False)
        batch_op.create_index('ix_cd_declaration_exception_penalised', ['penalised'], unique=False)

    with op.batch_alter_table('cd_inventory_exception', schema=None) as batch_op:
        batch_op.create_index('ix_cd_inventory_exception_duty_post_search', ['duty_post'], unique=False)
        batch_op.create_index('ix_cd_inventory_exception_penalised', ['penalised'], unique=False)



def downgrade():
    with op.batch_alter_table('cd_inventory_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_cd_inventory_exception_penalised')
        batch_op.drop_index('ix_cd_inventory_exception_duty_post_search')

    with op.batch_alter_table('cd_declaration_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_cd_declaration_exception_penalised')
        batch_op.drop_index('ix_cd_declaration_exception_duty_post_search')

