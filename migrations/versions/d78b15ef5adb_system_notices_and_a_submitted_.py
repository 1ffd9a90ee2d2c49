"""system notices and a submitted application's export declaration in the reader's language:
notice.message keeps the messages of a notice the system made (translated when read),
coo_coordination.export_declaration_facts what 提交 found of the export declaration (worded
when read).  Rows made before keep their stored text (both columns NULL).

Revision ID: d78b15ef5adb
Revises: 7660803eb405
Create Date: 2026-12-07 22:27:33.677063

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd78b15ef5adb'
down_revision = '7660803eb405'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('coo_coordination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('export_declaration_facts', sa.JSON(), nullable=True))

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('message')

    with op.batch_alter_table('coo_coordination', schema=None) as batch_op:
        batch_op.drop_column('export_declaration_facts')
