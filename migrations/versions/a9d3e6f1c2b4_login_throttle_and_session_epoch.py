"""login throttle counters, per-user session epoch, clean attachment file names

- login_throttle: failed sign-ins per account and per address, shared by every worker
  (app.throttle); the lock of an account or an address is a row here.
- ab_user.session_epoch: moves when the user signs out or the password changes; a session
  cookie or a JWT issued under an older epoch no longer authenticates.
- attachment.filename: names stored before control characters were stripped are cleaned.

Revision ID: a9d3e6f1c2b4
Revises: 1adddc0d3e1c
Create Date: 2026-12-04 22:00:00

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = 'a9d3e6f1c2b4'
down_revision = '1adddc0d3e1c'
branch_labels = None
depends_on = None


def _clean(name):
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip() or "file"


def upgrade():
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('window_start', sa.Integer(), nullable=True),
        sa.Column('locked_until', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('ab_user') as batch:
        batch.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False,
                                   server_default='0'))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, filename FROM attachment")).fetchall()
    for pk, name in rows:
        clean = _clean(name)
        if clean != name:
            bind.execute(sa.text("UPDATE attachment SET filename = :n WHERE id = :i"),
                         {"n": clean, "i": pk})


def downgrade():
    with op.batch_alter_table('ab_user') as batch:
        batch.drop_column('session_epoch')
    op.drop_table('login_throttle')
