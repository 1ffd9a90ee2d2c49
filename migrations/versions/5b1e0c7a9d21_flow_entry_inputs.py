"""flow entries keep what a step asked for (退回原因, 协调结果 …) by input name, shown with the
input's label in the reader's language

Revision ID: 5b1e0c7a9d21
Revises: 89a826c9787e
Create Date: 2026-12-07 02:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c7a9d21'
down_revision = '89a826c9787e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flow_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('flow_entry', schema=None) as batch_op:
        batch_op.drop_column('inputs')
