"""text_gram: finer planner statistics for the n-gram column on PostgreSQL

With the default statistics target PostgreSQL expects a handful of rows from an ILIKE on
goods_names and scans the whole application table instead of walking the n-gram index; a
contains-search for a word nobody wrote took 0.7 s on 1,000,000 applications, 0.2 ms after.

Revision ID: b7c1d2e3f4a5
Revises: e36ffd75fd98
Create Date: 2026-11-25 15:40:00
"""

from alembic import op

revision = "b7c1d2e3f4a5"
down_revision = "e36ffd75fd98"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE text_gram ALTER COLUMN gram SET STATISTICS 1000")
        op.execute("ANALYZE text_gram")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE text_gram ALTER COLUMN gram SET STATISTICS -1")
