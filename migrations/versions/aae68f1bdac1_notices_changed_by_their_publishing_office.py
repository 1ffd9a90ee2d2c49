"""notices changed by the office that published them

Revision ID: aae68f1bdac1
Revises: 5b1e0c7a9d21
Create Date: 2026-12-07 07:57:10.095867

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'aae68f1bdac1'
down_revision = '5b1e0c7a9d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publisher_org_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_notice_publisher_org_id', 'organisation',
                                    ['publisher_org_id'], ['id'])
    # A notice an officer published belongs to the officer's office; the system's own notices
    # (no author) and the administrators' (no office) stay with the administrators.
    op.execute(
        "UPDATE notice SET publisher_org_id = (SELECT organisation_id FROM ab_user "
        "WHERE ab_user.id = notice.created_by_id) WHERE created_by_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notice_publisher_org_id', type_='foreignkey')
        batch_op.drop_column('publisher_org_id')
