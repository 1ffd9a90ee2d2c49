"""declaration: 装运前检验证书编号 and the goods' 商品状态 (新/旧)

Revision ID: 3d7d65dacd39
Revises: f2d73b0082bf
Create Date: 2026-12-05 09:30:23.139323

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d7d65dacd39'
down_revision = 'f2d73b0082bf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cd_declaration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('psi_cert_no', sa.String(length=60), nullable=True))

    with op.batch_alter_table('cd_declaration_goods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('goods_state', sa.String(length=1), nullable=True))
    # goods declared before the field: new, as the form's initial value
    op.execute("UPDATE cd_declaration_goods SET goods_state = 'N'")


def downgrade():
    with op.batch_alter_table('cd_declaration_goods', schema=None) as batch_op:
        batch_op.drop_column('goods_state')

    with op.batch_alter_table('cd_declaration', schema=None) as batch_op:
        batch_op.drop_column('psi_cert_no')

