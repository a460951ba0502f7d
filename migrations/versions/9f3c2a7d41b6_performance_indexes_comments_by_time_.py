"""performance indexes: comments by time, member name prefix

Revision ID: 9f3c2a7d41b6
Revises: b2b651a9e968
Create Date: 2026-12-05 11:25:15.377767

- `ix_comments_created_at`: the dashboard's "comments today" (a range on created_at).
- `ix_users_display_name_lower` (PostgreSQL only): `lower(display_name) text_pattern_ops`, so
  the members page's prefix search (`lower(display_name) LIKE 'abc%'`) is an index range scan.
  A btree with the pattern operator class serves prefixes, which is what the page searches;
  pg_trgm would serve infix matches too but needs an extension and a GIN index that every
  user write must update.
- `ix_users_display_name_nocase` (SQLite only): `display_name COLLATE NOCASE`. SQLite's LIKE
  ignores ASCII case, so it uses this index for `display_name LIKE 'abc%'` (it cannot for an
  expression, and cannot reflect an expression index, which would make autogenerate warn).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f3c2a7d41b6'
down_revision = 'b2b651a9e968'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_created_at'), ['created_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'CREATE INDEX ix_users_display_name_lower ON users (lower(display_name) text_pattern_ops)'
        )
    else:
        op.execute('CREATE INDEX ix_users_display_name_nocase ON users (display_name COLLATE NOCASE)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_users_display_name_lower')
    else:
        op.execute('DROP INDEX ix_users_display_name_nocase')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_created_at'))
