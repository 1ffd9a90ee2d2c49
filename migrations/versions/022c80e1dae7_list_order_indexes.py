"""Indexes in the order of the lists sorted by another column than id: (column NULLS FIRST, id)

Revision ID: 022c80e1dae7
Revises: a44e8db75409
Create Date: 2026-12-05 01:29:50.003120

The list pages by (column, id) with NULLs first in both directions (app/engine/listing.py); on
PostgreSQL only an index in exactly that order lets a page read its rows without sorting the
table. SQLite sorts NULLs first anyway and takes no NULLS clause in an index.
"""
from alembic import op

revision = '022c80e1dae7'
down_revision = 'a44e8db75409'
branch_labels = None
depends_on = None

ORDERS = [("cd_hs_code", "code_ts"), ("me_product", "hs_code"), ("notice", "published_at"),
          ("regulation", "published_on"), ("ue_business_rule", "hs_code")]


def upgrade():
    nulls = " NULLS FIRST" if op.get_bind().dialect.name == "postgresql" else ""
    for table, column in ORDERS:
        op.execute(f"CREATE INDEX ix_{table}_list_order ON {table} ({column} ASC{nulls}, id ASC)")


def downgrade():
    for table, _column in ORDERS:
        op.drop_index(f"ix_{table}_list_order", table_name=table)
